// Runs the embedded script against a small fake DOM built from the rendered SVG, to prove that
// hover, zoom, search and the URL state actually work (no browser or DOM library needed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FlameStack } from '../../../src/render/flamegraph/model.js';
import { renderFlameGraph } from '../../../src/render/flamegraph/svg.js';

class El {
  attrs = new Map<string, string>();
  children: El[] = [];
  parentNode: El | null = null;
  text = '';
  listeners = new Map<string, Array<(e: unknown) => void>>();
  constructor(readonly tagName: string) {}
  getAttribute(n: string) { return this.attrs.get(n) ?? null; }
  setAttribute(n: string, v: string) { this.attrs.set(n, String(v)); }
  get textContent(): string { return this.text + this.children.map((c) => c.textContent).join(''); }
  set textContent(v: string) { this.text = v; this.children = []; }
  querySelector(tag: string): El | null {
    for (const c of this.children) if (c.tagName === tag) return c;
    for (const c of this.children) { const d = c.querySelector(tag); if (d) return d; }
    return null;
  }
  appendChild(c: El) { c.parentNode = this; this.children.push(c); return c; }
  addEventListener(type: string, fn: (e: unknown) => void) { this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]); }
  cls() { return this.getAttribute('class') ?? ''; }
}

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** Just enough XML parsing for our own output: elements, attributes, text and CDATA. */
function parse(xml: string): { root: El; script: string } {
  const top = new El('#document');
  const stack = [top];
  let script = '';
  const re = /<!\[CDATA\[([\s\S]*?)\]\]>|<\?[\s\S]*?\?>|<\/([\w:-]+)>|<([\w:-]+)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  for (const m of xml.matchAll(re)) {
    const cur = stack[stack.length - 1];
    if (m[1] !== undefined) { if (cur.tagName === 'script') script = m[1]; }
    else if (m[2] !== undefined) stack.pop();
    else if (m[3] !== undefined) {
      const el = cur.appendChild(new El(m[3]));
      for (const a of m[4].matchAll(/([\w:-]+)="([^"]*)"/g)) el.setAttribute(a[1], unescape(a[2]));
      if (m[5] !== '/') stack.push(el);
    } else if (m[6] !== undefined && cur.tagName !== '#document') {
      // A text node, kept as a child so that children[] still lists only elements when it matters.
      if (cur.tagName === 'title' || cur.tagName === 'text') cur.text += unescape(m[6]);
    }
  }
  return { root: top, script };
}

function byId(el: El, id: string): El | null {
  if (el.getAttribute('id') === id) return el;
  for (const c of el.children) { const f = byId(c, id); if (f) return f; }
  return null;
}

/** Loads the SVG as a browser would at `url`, running its script. */
function load(svg: string, url = 'http://host/g.svg') {
  const { root, script } = parse(svg);
  const loc = new URL(url);
  const location = { get search() { return loc.search; }, get pathname() { return loc.pathname; }, get hash() { return loc.hash; }, get href() { return loc.href; } };
  const history = { replaceState(_s: unknown, _t: string, u: string) { const n = new URL(u, loc); loc.search = n.search; } };
  const docListeners = new El('#doc');
  const winListeners = new El('#win');
  let answer: string | null = null;
  const window = { prompt: () => answer, addEventListener: winListeners.addEventListener.bind(winListeners) };
  const document = {
    getElementById: (id: string) => byId(root, id),
    createElementNS: (_ns: string, tag: string) => new El(tag),
    addEventListener: docListeners.addEventListener.bind(docListeners),
  };
  new Function('document', 'window', 'location', 'history', script)(document, window, location, history);

  const fire = (listeners: El, type: string, e: object) => listeners.listeners.get(type)?.forEach((fn) => fn(e));
  const frames = byId(root, 'frames')!.children;
  const frameNamed = (name: string) => {
    const g = frames.find((f) => f.querySelector('title')!.textContent.split('\n')[0] === name);
    assert.ok(g, `frame ${name}`);
    return g;
  };
  return {
    location, frames, frameNamed,
    el: (id: string) => byId(root, id)!,
    rect: (name: string) => {
      const r = frameNamed(name).querySelector('rect')!;
      return { x: Number(r.getAttribute('x')), w: Number(r.getAttribute('width')), fill: r.getAttribute('fill') };
    },
    /** Dispatches a bubbling event from `target` to the document and window. */
    dispatch(target: El | null, type: string, extra: object = {}) {
      let prevented = false;
      const e = { type, target, preventDefault: () => { prevented = true; }, ...extra };
      for (let n = target; n; n = n.parentNode) fire(n, type, e);
      fire(docListeners, type, e);
      fire(winListeners, type, e);
      return prevented;
    },
    answerPrompt(s: string | null) { answer = s; },
  };
}

const st = (path: string, value: number): FlameStack => ({ frames: path.split(';'), value });
// Width 1200: the graph is 1180 px and 1 unit = 1.18 px.
const svg = renderFlameGraph({
  title: 't', unit: 'count', sampleType: 'cpu',
  stacks: [st('main;handler;json.Marshal', 300), st('main;handler;runtime.mallocgc', 100), st('main;worker;runtime.mallocgc;runtime.mallocgc', 100), st('main;worker', 100), st('runtime.gcBgMarkWorker', 400)],
});

describe('embedded script', () => {
  it('shows a frame\'s details on hover and clears them on mouseout', () => {
    const g = load(svg);
    g.dispatch(g.frameNamed('handler').querySelector('rect'), 'mouseover');
    assert.equal(g.el('details').textContent, 'cpu: handler (400, 40.00%)');
    g.dispatch(g.frameNamed('handler'), 'mouseout');
    assert.equal(g.el('details').textContent.trim(), '');
  });

  it('zooms on click: the frame fills the width, ancestors stay dimmed, others hide; state goes to the URL', () => {
    const g = load(svg);
    const before = g.rect('handler');
    g.dispatch(g.frameNamed('handler').querySelector('rect'), 'click');
    assert.deepEqual([g.rect('handler').x, g.rect('handler').w], [10, 1180]);
    assert.equal(g.frameNamed('main').cls(), 'parent');
    assert.equal(g.rect('main').w, 1180);
    assert.equal(g.frameNamed('worker').cls(), 'hide');
    assert.equal(g.frameNamed('runtime.gcBgMarkWorker').cls(), 'hide');
    const json = g.rect('json.Marshal');
    assert.ok(Math.abs(json.w - 1180 * 0.75) < 0.1, `descendants rescaled: ${json.w}`);
    assert.equal(g.frameNamed('json.Marshal').querySelector('text')!.textContent, 'json.Marshal', 'text re-fitted');
    assert.doesNotMatch(g.el('unzoom').cls(), /hide/);
    assert.equal(g.location.search, `?x=${before.x}&y=${g.frameNamed('handler').querySelector('rect')!.getAttribute('y')}`);

    g.el('unzoom').listeners.get('click')![0]({});
    assert.deepEqual(g.rect('handler'), before);
    assert.ok(g.frames.every((f) => f.cls() === ''));
    assert.match(g.el('unzoom').cls(), /hide/);
    assert.equal(g.location.search, '');
  });

  it('resets zoom on double-click and on Esc', () => {
    const g = load(svg);
    g.dispatch(g.frameNamed('worker'), 'click');
    g.dispatch(null, 'dblclick');
    assert.ok(g.frames.every((f) => f.cls() === ''));
    g.dispatch(g.frameNamed('worker'), 'click');
    g.dispatch(null, 'keydown', { key: 'Escape' });
    assert.ok(g.frames.every((f) => f.cls() === ''));
  });

  it('searches on Ctrl-F: magenta matches, Matched % without double-counting nested matches, ?s= in the URL', () => {
    const g = load(svg);
    g.answerPrompt('^runtime\\.');
    assert.equal(g.dispatch(null, 'keydown', { key: 'f', ctrlKey: true }), true, 'browser find suppressed');
    for (const name of ['runtime.gcBgMarkWorker', 'runtime.mallocgc']) assert.equal(g.rect(name).fill, '#e600e6');
    assert.notEqual(g.rect('handler').fill, '#e600e6');
    // gcBgMarkWorker 400 + mallocgc under handler 100 + outer mallocgc under worker 100 (inner one nested) = 60%.
    assert.equal(g.el('matched').textContent, 'Matched: 60.0%');
    assert.equal(new URLSearchParams(g.location.search).get('s'), '^runtime\\.');
    assert.doesNotMatch(g.el('reset-search').cls(), /hide/);

    g.el('reset-search').listeners.get('click')![0]({});
    assert.notEqual(g.rect('runtime.gcBgMarkWorker').fill, '#e600e6');
    assert.equal(g.el('matched').textContent.trim(), '');
    assert.equal(g.location.search, '');
  });

  it('restores zoom and search from the URL on load', () => {
    const first = load(svg);
    first.dispatch(first.frameNamed('worker'), 'click');
    first.answerPrompt('mallocgc');
    first.el('search').listeners.get('click')![0]({});
    const url = `http://host/g.svg${first.location.search}`;
    assert.match(url, /x=.*y=.*s=mallocgc/);

    const g = load(svg, url);
    assert.equal(g.rect('worker').w, 1180);
    assert.equal(g.frameNamed('handler').cls(), 'hide');
    assert.equal(g.el('matched').textContent, 'Matched: 20.0%');
  });

  it('creates labels for frames that were too narrow to have one until zoomed', () => {
    const stacks = [st('wide', 10_000), st('narrow;narrow_child_function', 10)];
    const g = load(renderFlameGraph({ title: 't', unit: 'count', sampleType: 'cpu', stacks }));
    assert.equal(g.frameNamed('narrow_child_function').querySelector('text'), null);
    g.dispatch(g.frameNamed('narrow'), 'click');
    assert.equal(g.frameNamed('narrow_child_function').querySelector('text')!.textContent, 'narrow_child_function');
  });
});
