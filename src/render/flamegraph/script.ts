/**
 * The script embedded in every flame graph: hover details, click-to-zoom, regex search, and the
 * zoom/search state in the URL (`?x=&y=` names the zoomed frame's rect, `?s=` the search), as in
 * flamegraph.pl. It reads everything from the document: the frame's name and details are the
 * lines of its `<title>`, its geometry is its `<rect>`, and the constants are `data-*` attributes
 * on `#frames`. It is plain ES2017 and must never contain the CDATA terminator.
 */
export const FLAME_SCRIPT = String.raw`
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg", EPS = 0.001;
  var byId = function (id) { return document.getElementById(id); };
  var framesEl = byId("frames"), details = byId("details"), matched = byId("matched");
  var unzoomBtn = byId("unzoom"), searchBtn = byId("search"), resetSearchBtn = byId("reset-search");
  var num = function (name) { return parseFloat(framesEl.getAttribute("data-" + name)); };
  var XPAD = num("xpad"), GRAPH_W = num("graph-width"), CHAR_W = num("char-width"), TEXT_DY = num("text-dy");
  var PREFIX = framesEl.getAttribute("data-prefix"), MATCH_FILL = framesEl.getAttribute("data-match-fill");

  // One record per frame, read once from the markup.
  var frames = [], byG = new Map();
  Array.prototype.forEach.call(framesEl.children, function (g) {
    var rect = g.querySelector("rect"), lines = g.querySelector("title").textContent.split("\n");
    var f = {
      g: g, rect: rect, text: g.querySelector("text"), name: lines[0], info: lines.slice(1).join("; "),
      xs: rect.getAttribute("x"), ys: rect.getAttribute("y"), fill: rect.getAttribute("fill"),
      x: parseFloat(rect.getAttribute("x")), y: parseFloat(rect.getAttribute("y")), w: parseFloat(rect.getAttribute("width"))
    };
    frames.push(f);
    byG.set(g, f);
  });
  var total = frames.length ? frames[0].w : 1; // frames[0] is the root, "all"
  var zoomed = null, term = null;

  // Same rule as the server side: whole name, else a prefix and "..", else nothing.
  function fitText(f, x, w) {
    var n = Math.floor((w - 6) / CHAR_W), name = f.name;
    var label = n < 3 ? "" : name.length <= n ? name : name.slice(0, n - 2) + "..";
    if (!f.text) {
      if (!label) return;
      f.text = document.createElementNS(NS, "text");
      f.text.setAttribute("y", String(f.y + TEXT_DY));
      f.g.appendChild(f.text);
    }
    f.text.setAttribute("x", String(x + 3));
    f.text.textContent = label;
  }
  function place(f, x, w, cls) {
    f.g.setAttribute("class", cls);
    f.rect.setAttribute("x", String(x));
    f.rect.setAttribute("width", String(w));
    if (cls !== "hide") fitText(f, x, w);
  }

  function zoom(target) {
    var xmin = target.x, xmax = target.x + target.w, ratio = GRAPH_W / target.w;
    frames.forEach(function (f) {
      if (f.y > target.y) { // drawn lower, so shallower: keep ancestors full width and dimmed
        if (f.x <= xmin + EPS && f.x + f.w >= xmax - EPS) place(f, XPAD, GRAPH_W, "parent");
        else place(f, f.x, f.w, "hide");
      } else if (f.x >= xmin - EPS && f.x < xmax - EPS) { // the target and its descendants
        place(f, XPAD + (f.x - xmin) * ratio, f.w * ratio, "");
      } else {
        place(f, f.x, f.w, "hide");
      }
    });
    zoomed = target;
    unzoomBtn.setAttribute("class", "btn");
    saveState();
  }
  function unzoom() {
    if (!zoomed) return;
    frames.forEach(function (f) { place(f, f.x, f.w, ""); });
    zoomed = null;
    unzoomBtn.setAttribute("class", "btn hide");
    saveState();
  }

  function search(pattern) {
    var re;
    try { re = new RegExp(pattern); } catch (err) { details.textContent = "Invalid regex: " + err.message; return; }
    var hits = [];
    frames.forEach(function (f) {
      var hit = re.test(f.name);
      f.rect.setAttribute("fill", hit ? MATCH_FILL : f.fill);
      if (hit) hits.push(f);
    });
    // Count each matched x-range once: a match nested inside an earlier one adds nothing.
    hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });
    var sum = 0, end = -Infinity;
    hits.forEach(function (f) {
      if (f.x >= end - EPS) { sum += f.w; end = f.x + f.w; }
    });
    term = pattern;
    matched.textContent = "Matched: " + (100 * sum / total).toFixed(1) + "%";
    resetSearchBtn.setAttribute("class", "btn");
    saveState();
  }
  function resetSearch() {
    if (term === null) return;
    frames.forEach(function (f) { f.rect.setAttribute("fill", f.fill); });
    term = null;
    matched.textContent = " ";
    resetSearchBtn.setAttribute("class", "btn hide");
    saveState();
  }
  function promptSearch() {
    var pattern = window.prompt("Enter a search term (regexp allowed, eg: ^runtime\\.)", term || "");
    if (pattern) search(pattern);
  }

  function saveState() {
    try {
      var p = new URLSearchParams(location.search);
      ["x", "y", "s"].forEach(function (k) { p.delete(k); });
      if (zoomed) { p.set("x", zoomed.xs); p.set("y", zoomed.ys); }
      if (term !== null) p.set("s", term);
      var q = p.toString();
      history.replaceState(null, "", location.pathname + (q ? "?" + q : "") + location.hash);
    } catch (err) { /* no history (e.g. inside an <img>): state just isn't shared */ }
  }
  function loadState() {
    var p;
    try { p = new URLSearchParams(location.search); } catch (err) { return; }
    var x = p.get("x"), y = p.get("y"), s = p.get("s");
    if (x !== null && y !== null) {
      var f = frames.find(function (f) { return Math.abs(f.x - x) < EPS && Math.abs(f.y - y) < EPS; });
      if (f) zoom(f);
    }
    if (s) search(s);
  }

  function frameOf(node) {
    while (node && node.parentNode !== framesEl) node = node.parentNode;
    return node ? byG.get(node) : undefined;
  }
  framesEl.addEventListener("click", function (e) { var f = frameOf(e.target); if (f) zoom(f); });
  framesEl.addEventListener("mouseover", function (e) {
    var f = frameOf(e.target);
    if (f) details.textContent = PREFIX + f.name + " (" + f.info + ")";
  });
  framesEl.addEventListener("mouseout", function () { details.textContent = " "; });
  unzoomBtn.addEventListener("click", unzoom);
  searchBtn.addEventListener("click", promptSearch);
  resetSearchBtn.addEventListener("click", resetSearch);
  document.addEventListener("dblclick", unzoom);
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) { e.preventDefault(); promptSearch(); }
    else if (e.key === "Escape") { unzoom(); resetSearch(); }
  });
  loadState();
})();
`;
