import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FlameAnnotation, FlameInput, FlameStack } from '../../../src/render/flamegraph/model.js';
import { DIFF_GROW_COLOR, SEPARATOR_COLOR, frameColor, mutedColor } from '../../../src/render/flamegraph/palette.js';
import { renderFlameGraph } from '../../../src/render/flamegraph/svg.js';

const st = (path: string, value: number, baseValue?: number): FlameStack =>
  ({ frames: path.split(';'), value, ...(baseValue === undefined ? {} : { baseValue }) });

const input = (stacks: FlameStack[], extra: Partial<FlameInput> = {}): FlameInput =>
  ({ title: 'CPU in spike', unit: 'nanoseconds', sampleType: 'cpu', stacks, ...extra });

const GC: FlameAnnotation = { id: 'gc-pressure', label: 'GC pressure (score 0.82)', color: '#2ca02c', patterns: [/^runtime\.gc/] };
const LOCK: FlameAnnotation = { id: 'lock-contention', label: 'Lock contention', color: '#9467bd', patterns: [/Mutex/, /^runtime\.gcBg/] };

/** Throws unless `xml` is well-formed XML 1.0 (no DTD): the checks a strict parser makes. */
function assertWellFormed(xml: string): void {
  const bad = xml.match(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u);
  if (bad) throw new Error(`invalid XML character U+${bad[0].codePointAt(0)!.toString(16)} at ${bad.index}`);
  const NAME = /[A-Za-z_:][-\w:.]*/y;
  const REF = /&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/y;
  const fail = (i: number, why: string): never => { throw new Error(`not well-formed at ${i}: ${why}: ${JSON.stringify(xml.slice(i, i + 60))}`); };
  const checkText = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      if (xml[i] === '&') { REF.lastIndex = i; if (!REF.test(xml)) fail(i, 'bad entity reference'); }
      if (xml[i] === '>' && xml.startsWith(']]>', i - 2)) fail(i, '"]]>" in text');
    }
  };
  const open: string[] = [];
  let roots = 0;
  let i = 0;
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (open.length === 0 && xml.slice(i, textEnd).trim() !== '') fail(i, 'text outside the root');
    checkText(i, textEnd);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0 || xml.slice(i + 4, end).includes('--')) fail(i, 'bad comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      if (open.length === 0) fail(i, 'CDATA outside the root');
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail(i, 'unterminated CDATA');
      i = end + 3;
    } else if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) fail(i, 'unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!', i)) {
      fail(i, 'DOCTYPE or other declaration');
    } else if (xml[i + 1] === '/') {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(xml) ?? fail(i, 'bad end tag');
      const name = m[0];
      let j = NAME.lastIndex;
      while (/\s/.test(xml[j])) j++;
      if (xml[j] !== '>') fail(j, 'bad end tag');
      if (open.pop() !== name) fail(i, `mismatched </${name}>`);
      i = j + 1;
    } else {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(xml) ?? fail(i, 'bad start tag');
      let j = NAME.lastIndex;
      const seen = new Set<string>();
      for (;;) {
        const ws = j;
        while (/\s/.test(xml[j])) j++;
        if (xml[j] === '>' || xml.startsWith('/>', j)) break;
        if (j === ws) fail(j, 'missing space before attribute');
        NAME.lastIndex = j;
        const a = NAME.exec(xml) ?? fail(j, 'bad attribute name');
        if (seen.has(a[0])) fail(j, `duplicate attribute ${a[0]}`);
        seen.add(a[0]);
        j = NAME.lastIndex;
        while (/\s/.test(xml[j])) j++;
        if (xml[j] !== '=') fail(j, 'attribute without value');
        j++;
        while (/\s/.test(xml[j])) j++;
        const q = xml[j];
        if (q !== '"' && q !== "'") fail(j, 'unquoted attribute');
        const end = xml.indexOf(q, j + 1);
        if (end < 0) fail(j, 'unterminated attribute');
        if (xml.slice(j + 1, end).includes('<')) fail(j, '"<" in attribute');
        checkText(j + 1, end);
        j = end + 1;
      }
      if (open.length === 0 && ++roots > 1) fail(i, 'second root element');
      if (xml[j] === '>') { open.push(m[0]); i = j + 1; } else i = j + 2;
    }
  }
  if (open.length > 0) throw new Error(`unclosed <${open.join('> <')}>`);
  if (roots !== 1) throw new Error('no root element');
}

/** Frame groups as [title text (unescaped), rect attributes, label]. */
function frameGroups(svg: string): Array<{ title: string; fill: string; stroke?: string; width: number; label?: string }> {
  const frames = svg.slice(svg.indexOf('<g id="frames"'), svg.indexOf('<script'));
  return [...frames.matchAll(/<g><title>([^<]*)<\/title><rect ([^>]*)\/>(?:<text [^>]*>([^<]*)<\/text>)?<\/g>/g)].map((m) => ({
    title: unescape(m[1]),
    fill: /fill="([^"]*)"/.exec(m[2])![1],
    stroke: /stroke="([^"]*)"/.exec(m[2])?.[1],
    width: Number(/width="([^"]*)"/.exec(m[2])![1]),
    label: m[3] === undefined ? undefined : unescape(m[3]),
  }));
}
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
const frame = (svg: string, name: string) => {
  const f = frameGroups(svg).find((g) => g.title.split('\n')[0] === name);
  assert.ok(f, `frame ${name} drawn`);
  return f;
};
const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

describe('assertWellFormed (the test helper itself)', () => {
  it('catches the mistakes a strict parser rejects', () => {
    assertWellFormed('<?xml version="1.0"?>\n<a x="1"><b/>t &amp; &#60;<![CDATA[ < & ]]></a>\n');
    for (const bad of ['<a><b></a></b>', '<a>x & y</a>', '<a x="<"/>', '<a x="1" x="2"/>', '<a/><b/>', '<a>\u0001</a>', '<a>]]></a>', '<a', '<a x=1/>']) {
      assert.throws(() => assertWellFormed(bad), Error, bad);
    }
  });
});

describe('renderFlameGraph', () => {
  const hostile = ['main.Map[...]', 'main.handle.func1', 'a<b>&"c\'', ']]>', 'ctl\u0001x', 'line\nbreak'];
  const svg = renderFlameGraph(input([
    st(hostile.join(';'), 4_000_000),
    st('runtime.gcBgMarkWorker;runtime.gcDrain', 3_000_000),
    st('main.serve;sync.(*Mutex).Lock;-;futex_wait_[k]', 2_000_000),
    st('main.serve;encoding/json.Marshal', 1_000_000),
  ], { subtitle: 'top causes: gc-pressure', annotations: [GC, LOCK] }));

  it('is well-formed XML with one root svg', () => {
    assertWellFormed(svg);
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"/);
    assert.match(svg, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('gives every frame a <title> with name, human value and share of total', () => {
    const groups = frameGroups(svg);
    const gCount = (svg.slice(svg.indexOf('<g id="frames"')).match(/<g>/g) ?? []).length;
    assert.equal(groups.length, gCount, 'every frame group has a title first');
    assert.equal(groups.length, 1 + hostile.length + 2 + 5);
    assert.equal(frame(svg, 'all').title, 'all\n10.0 ms, 100.00%');
    assert.equal(frame(svg, 'runtime.gcBgMarkWorker').title.split('\n')[1], '3.00 ms, 30.00%');
  });

  it('escapes hostile names everywhere and keeps out characters XML cannot hold', () => {
    assert.ok(svg.includes('<title>a&lt;b&gt;&amp;&quot;c&#39;\n'));
    assert.ok(svg.includes('<title>]]&gt;\n'));
    assert.ok(!svg.includes('a<b>'));
    assert.ok(svg.includes('main.Map[...]'));
    assert.equal(frame(svg, 'ctl\uFFFDx').title.startsWith('ctl\uFFFDx\n'), true);
    assert.ok(frame(svg, 'line break'), 'a newline in a name would split the title');
  });

  it('shows title, subtitle and a legend with every annotation', () => {
    assert.match(svg, />CPU in spike<\/text>/);
    assert.match(svg, />top causes: gc-pressure<\/text>/);
    const legend = svg.slice(svg.indexOf('<g id="legend"'), svg.indexOf('</g>', svg.indexOf('<g id="legend"')));
    assert.match(legend, /fill="#2ca02c"[^>]*\/><text[^>]*>GC pressure \(score 0\.82\)</);
    assert.match(legend, /fill="#9467bd"[^>]*\/><text[^>]*>Lock contention</);
    assert.match(legend, />kernel</);
  });

  it('colours frames matching a cause, first matching annotation wins, and names the cause in the title', () => {
    assert.equal(frame(svg, 'runtime.gcDrain').fill, '#2ca02c');
    assert.equal(frame(svg, 'runtime.gcBgMarkWorker').fill, '#2ca02c', 'GC is listed before LOCK');
    assert.equal(frame(svg, 'sync.(*Mutex).Lock').fill, '#9467bd');
    assert.match(frame(svg, 'runtime.gcDrain').title, /\ncause: GC pressure \(score 0\.82\) \[gc-pressure\]$/);
    for (const name of ['main.serve', 'encoding/json.Marshal', 'all']) {
      const f = frame(svg, name);
      // Frames no cause implicates are washed out, so the cause colours stand out.
      assert.equal(f.fill, mutedColor(frameColor(name)));
      assert.notEqual(f.fill, frameColor(name));
      assert.ok(!['#2ca02c', '#9467bd'].includes(f.fill));
      assert.doesNotMatch(f.title, /cause:/);
    }
  });

  it('draws the "-" separator grey and kernel frames in their own hue, suffix kept', () => {
    assert.equal(frame(svg, '-').fill, SEPARATOR_COLOR);
    const k = frame(svg, 'futex_wait_[k]');
    const [r, , b] = rgb(k.fill);
    assert.ok(b > r, `kernel frames are blue-ish, got ${k.fill}`);
    assert.match(k.title, /^futex_wait_\[k\]\n/);
  });

  it('truncates labels with ".." to fit and leaves narrow frames unlabelled', () => {
    // 990 px of graph for 990 units: 1 unit = 1 px; a label gets floor((px - 6) / 7.08) characters.
    const s = renderFlameGraph(input([st('a_rather_long_function_name_that_cannot_fit', 150), st('tiny_but_not_pruned', 2), st('z', 838)]), { width: 1010 });
    assert.equal(frame(s, 'a_rather_long_function_name_that_cannot_fit').label, 'a_rather_long_func..');
    assert.equal(frame(s, 'tiny_but_not_pruned').label, undefined);
    assert.equal(frame(s, 'all').label, 'all');
  });

  it('embeds the interactive script in CDATA, with no external resources', () => {
    const script = /<script type="text\/ecmascript"><!\[CDATA\[([\s\S]*)\]\]><\/script>/.exec(svg)?.[1];
    assert.ok(script, 'script in CDATA');
    assert.doesNotThrow(() => new Function(script), 'script parses');
    for (const needle of ['Matched: ', 'new RegExp', 'preventDefault', 'ctrlKey', 'replaceState', 'URLSearchParams', 'dblclick', 'Escape', 'mouseover']) {
      assert.ok(script.includes(needle), needle);
    }
    for (const id of ['unzoom', 'search', 'reset-search', 'details', 'matched']) assert.match(svg, new RegExp(`<text [^>]*id="${id}"`));
    assert.match(svg, />Reset Zoom</);
    assert.match(svg, />Reset Search</);
    assert.match(svg, />Search</);
    const withoutNs = svg.replace('xmlns="http://www.w3.org/2000/svg"', '').replace("'http://www.w3.org/2000/svg'", '').replace('"http://www.w3.org/2000/svg"', '');
    assert.doesNotMatch(withoutNs, /https?:|href|@import|@font-face|url\((?!#)/);
  });

  it('renders a valid "no samples" SVG for empty input', () => {
    for (const stacks of [[], [st('a', 0)]]) {
      const s = renderFlameGraph(input(stacks));
      assertWellFormed(s);
      assert.match(s, />no samples</);
      assert.doesNotMatch(s, /<g id="frames"/);
    }
  });

  it('rejects nonsense options', () => {
    assert.throws(() => renderFlameGraph(input([st('a', 1)]), { width: 0 }), RangeError);
    assert.throws(() => renderFlameGraph(input([st('a', 1)]), { frameHeight: Number.NaN }), RangeError);
  });
});

describe('renderFlameGraph, differential', () => {
  const svg = renderFlameGraph(input([
    st('main;grew', 900, 100),
    st('main;shrank', 100, 600),
    st('main;same', 300, 300),
    st('main;new', 50),
    st('main;gone', 0, 80),
    st('runtime.gcDrain', 200, 200),
    st('main;syscall;-;write_[k]', 100, 10),
  ].map((s) => ({ ...s, baseValue: s.baseValue ?? 0 })), { differential: true, annotations: [GC] }));

  it('is well-formed and explains the colours in a legend', () => {
    assertWellFormed(svg);
    assert.match(svg, />grew in spike[^<]*</);
    assert.match(svg, />shrank in spike[^<]*</);
  });

  it('colours growth red, shrink blue, no change near-white and one-sided frames fully', () => {
    const [gr, gg, gb] = rgb(frame(svg, 'grew').fill);
    assert.ok(gr > 200 && gg < 100 && gb < 100, `grew is red: ${frame(svg, 'grew').fill}`);
    const [sr, , sb] = rgb(frame(svg, 'shrank').fill);
    assert.ok(sb > sr + 50, `shrank is blue: ${frame(svg, 'shrank').fill}`);
    assert.ok(rgb(frame(svg, 'same').fill).every((c) => c > 230), 'unchanged is near-white');
    assert.equal(frame(svg, 'new').fill, DIFF_GROW_COLOR, 'only in spike: full red');
    // Saturation follows |delta|: the biggest growth (800) is fully red, a smaller one is paler.
    const paler = renderFlameGraph(input([st('a', 500, 100), st('b', 200, 100)], { differential: true }));
    assert.ok(rgb(frame(paler, 'b').fill)[1] > rgb(frame(paler, 'a').fill)[1]);
  });

  it('keeps the "-" separator grey', () => {
    assert.equal(frame(svg, '-').fill, SEPARATOR_COLOR);
    const [r, g, b] = rgb(frame(svg, 'write_[k]').fill);
    assert.ok(r > g && r > b, 'frames above it still show their change');
  });

  it('puts baseline and delta in titles and outlines annotated frames', () => {
    assert.match(frame(svg, 'grew').title, /\nbaseline 100 ns, \+800 ns \(\+800\.0%\)/);
    assert.match(frame(svg, 'shrank').title, /\nbaseline 600 ns, -500 ns \(-83\.3%\)/);
    assert.match(frame(svg, 'new').title, /\+50\.0 ns \(new\)|\+50 ns \(new\)/);
    const gc = frame(svg, 'runtime.gcDrain');
    assert.equal(gc.stroke, '#2ca02c');
    assert.notEqual(gc.fill, '#2ca02c', 'fill keeps meaning change');
    assert.equal(frame(svg, 'grew').stroke, undefined);
  });
});

describe('renderFlameGraph at scale', () => {
  it('renders 200k stacks of depth 40', () => {
    const names = Array.from({ length: 400 }, (_, i) => `github.com/acme/svc/pkg${i % 13}.(*T${i}).Do`);
    let seed = 1;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % names.length;
    const stacks: FlameStack[] = [];
    for (let i = 0; i < 200_000; i++) {
      const frames = new Array<string>(40);
      for (let d = 0; d < 40; d++) frames[d] = names[d < 3 ? d : next()];
      stacks.push({ frames, value: 1 + (i % 97) });
    }
    const svg = renderFlameGraph(input(stacks, { annotations: [GC] }));
    assert.ok(svg.endsWith('</svg>\n'));
    assert.ok(frameGroups(svg).length > 3);
  });
});
