/** A self-contained interactive flame graph SVG in the manner of flamegraph.pl. Pure. */
import { formatDelta, formatPercent, formatValue } from './format.js';
import { layoutFlame, type FlameFrame, type FlameLayout } from './layout.js';
import type { FlameAnnotation, FlameInput } from './model.js';
import {
  DIFF_GROW_COLOR, DIFF_SAME_COLOR, DIFF_SHRINK_COLOR, KIND_SWATCH, SEARCH_COLOR, SEPARATOR_COLOR,
  diffColor, frameColor, frameKind, matchAnnotation, mutedColor,
} from './palette.js';
import { FLAME_SCRIPT } from './script.js';

export interface FlameRenderOptions {
  /** Image width in px (default 1200, as flamegraph.pl). */
  width?: number;
  /** Height of one frame row in px (default 16). */
  frameHeight?: number;
  /** Frames narrower than this many px are left out (default 0.1, as flamegraph.pl). */
  minWidthPx?: number;
}

const FONT = 'Verdana, DejaVu Sans, sans-serif';
const FONT_SIZE = 12;
const TITLE_SIZE = 17;
/** flamegraph.pl's estimate of an average glyph's width, relative to the font size. */
const FONT_WIDTH = 0.59;
const CHAR_W = FONT_SIZE * FONT_WIDTH;
const XPAD = 10;
const FOOTER = FONT_SIZE * 2 + 10;
const LEGEND_ROW = 18;
const LEGEND_SIZE = 11;

const STYLE = `
#frames > g:hover > rect { stroke: #000; stroke-width: 0.5; }
#frames > g { cursor: pointer; }
#frames text { pointer-events: none; }
.parent { opacity: 0.5; }
.hide { display: none; }
.btn { cursor: pointer; }
.btn:hover { text-decoration: underline; }
`;

interface LegendEntry { label: string; fill: string; stroke?: string }

/** Renders the whole SVG document; empty input gives a small valid SVG saying "no samples". */
export function renderFlameGraph(input: FlameInput, opts: FlameRenderOptions = {}): string {
  const width = opts.width ?? 1200;
  const frameHeight = opts.frameHeight ?? 16;
  const minWidthPx = opts.minWidthPx ?? 0.1;
  if (!(width >= 100) || !(frameHeight >= 4) || !(minWidthPx >= 0)) {
    throw new RangeError(`renderFlameGraph: need width >= 100, frameHeight >= 4, minWidthPx >= 0 (got ${width}, ${frameHeight}, ${minWidthPx})`);
  }
  const graphWidth = width - 2 * XPAD;
  const layout = layoutFlame(input.stacks, { minWidth: minWidthPx / graphWidth });
  if (layout.frames.length === 0) return renderEmpty(input, width);

  const annotations = input.annotations ?? [];
  const diff = input.differential === true;
  const styleOf = frameStyler(input, layout, annotations);

  const legend = legendEntries(input, layout, annotations);
  let top = TITLE_SIZE + 14;
  const header: string[] = [
    text(width / 2, FONT_SIZE * 2, fitLabel(input.title, width - 240, TITLE_SIZE * FONT_WIDTH) || input.title, {
      'text-anchor': 'middle', 'font-size': TITLE_SIZE,
    }),
  ];
  if (input.subtitle) {
    top += FONT_SIZE + 6;
    header.push(text(width / 2, FONT_SIZE * 2 + FONT_SIZE + 6, input.subtitle, { 'text-anchor': 'middle', fill: '#555' }));
  }
  if (legend.length > 0) {
    const box = legendBox(legend, top, width);
    header.push(box.svg);
    top = box.bottom;
  }
  const graphTop = top + 8;
  const height = graphTop + (layout.maxDepth + 1) * frameHeight + FOOTER;

  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="${FONT_SIZE}">\n`,
    `<title>${esc(input.title)}</title>\n`,
    `<style type="text/css"><![CDATA[${STYLE}]]></style>\n`,
    '<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0">',
    `<stop stop-color="#eeeeee" offset="5%"/><stop stop-color="${diff ? '#e0e0e0' : '#eeeeb0'}" offset="95%"/>`,
    '</linearGradient></defs>\n',
    `<rect x="0" y="0" width="${width}" height="${height}" fill="url(#background)"/>\n`,
    ...header,
    text(XPAD, FONT_SIZE * 2, 'Reset Zoom', { id: 'unzoom', class: 'btn hide' }),
    text(width - XPAD, FONT_SIZE * 2, 'Search', { id: 'search', class: 'btn', 'text-anchor': 'end' }),
    text(width - XPAD - 60, FONT_SIZE * 2, 'Reset Search', { id: 'reset-search', class: 'btn hide', 'text-anchor': 'end' }),
    text(XPAD, height - FONT_SIZE / 2 - 4, ' ', { id: 'details' }),
    text(width - XPAD, height - FONT_SIZE / 2 - 4, ' ', { id: 'matched', 'text-anchor': 'end' }),
  ];

  const textDy = (frameHeight - 1) / 2 + FONT_SIZE * 0.35;
  out.push(
    `<g id="frames" data-xpad="${XPAD}" data-graph-width="${graphWidth}" data-char-width="${CHAR_W}"`,
    ` data-text-dy="${num(textDy)}" data-prefix="${esc(input.sampleType ? `${input.sampleType}: ` : '')}" data-match-fill="${SEARCH_COLOR}">\n`,
  );
  for (const f of layout.frames) {
    const left = round2(XPAD + f.x * graphWidth);
    const w = round2(round2(XPAD + (f.x + f.width) * graphWidth) - left);
    if (w <= 0) continue;
    const y = graphTop + (layout.maxDepth - f.depth) * frameHeight;
    const s = styleOf(f);
    const label = fitLabel(s.raw, w);
    out.push(
      `<g><title>${s.name}\n${titleInfo(f, input, layout, s.annotation)}</title>`,
      `<rect x="${left}" y="${y}" width="${w}" height="${frameHeight - 1}" fill="${s.fill}"${s.extra}/>`,
      label ? `<text x="${round2(left + 3)}" y="${num(y + textDy)}">${label === s.raw ? s.name : esc(label)}</text></g>\n` : '</g>\n',
    );
  }
  out.push('</g>\n', `<script type="text/ecmascript"><![CDATA[${FLAME_SCRIPT}]]></script>\n</svg>\n`);
  return out.join('');
}

/**
 * `name`, or its prefix and `..` if it is too wide for `widthPx` (3 px padding each side, glyph
 * width estimated), or `''` when not even three characters fit. The embedded script does the same.
 */
function fitLabel(name: string, widthPx: number, charWidth = CHAR_W): string {
  const n = Math.floor((widthPx - 6) / charWidth);
  if (n < 3) return '';
  return name.length <= n ? name : name.slice(0, n - 2) + '..';
}

/** XML-escapes text for content and attributes; characters XML cannot hold become U+FFFD. */
function esc(s: string): string {
  return s.replace(XML_INVALID, '\uFFFD').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

interface FrameStyle {
  /** Single-line display name. */
  raw: string;
  /** `raw`, XML-escaped. */
  name: string;
  fill: string;
  /** Extra rect attributes (the cause outline in differential mode). */
  extra: string;
  annotation?: FlameAnnotation;
}

/** Colours and escaped names per frame, memoised per name: big graphs repeat names a lot. */
function frameStyler(input: FlameInput, layout: FlameLayout, annotations: readonly FlameAnnotation[]) {
  const perName = new Map<string, { raw: string; name: string; color: string; annotation?: FlameAnnotation }>();
  // Colour follows each frame's self delta, as in flamegraph.pl, scaled to the largest one drawn.
  let maxAbsDelta = 0;
  if (input.differential) {
    for (const f of layout.frames) maxAbsDelta = Math.max(maxAbsDelta, Math.abs(f.selfValue - f.selfBaseValue));
  }
  return (f: FlameFrame): FrameStyle => {
    let p = perName.get(f.name);
    if (p === undefined) {
      const annotation = matchAnnotation(f.name, annotations);
      const raw = f.name.replace(/[\t\r\n]/g, ' ');
      const own = frameColor(f.name);
      const muted = annotations.length > 0 && frameKind(f.name) !== 'separator';
      p = { raw, name: esc(raw), color: annotation?.color ?? (muted ? mutedColor(own) : own), annotation };
      perName.set(f.name, p);
    }
    if (!input.differential) return { raw: p.raw, name: p.name, fill: esc(p.color), extra: '', annotation: p.annotation };
    // Differential: colour is the change (separators stay grey, as in flamegraph.pl); a cause
    // shows as an outline in its colour instead.
    const extra = p.annotation ? ` stroke="${esc(p.annotation.color)}" stroke-width="1.5"` : '';
    const fill = frameKind(f.name) === 'separator'
      ? SEPARATOR_COLOR
      : diffColor(f.value, f.baseValue, f.selfValue - f.selfBaseValue, maxAbsDelta);
    return { raw: p.raw, name: p.name, fill, extra, annotation: p.annotation };
  };
}

/** Lines after the name in a frame's `<title>`; the script shows them joined in the details bar. */
function titleInfo(f: FlameFrame, input: FlameInput, layout: FlameLayout, annotation?: FlameAnnotation): string {
  let info = `${formatValue(f.value, input.unit)}, ${formatPercent(f.value, layout.total)}`;
  if (input.differential) {
    info += `\nbaseline ${formatValue(f.baseValue, input.unit)}, ${formatDelta(f.value, f.baseValue, input.unit)}`;
    // The colour follows the self delta; say what it is when it differs from the inclusive one.
    const selfDelta = f.selfValue - f.selfBaseValue;
    if (selfDelta !== 0 && selfDelta !== f.value - f.baseValue) {
      info += `\nself ${formatDelta(f.selfValue, f.selfBaseValue, input.unit)}`;
    }
  }
  if (annotation) info += `\ncause: ${annotation.label} [${annotation.id}]`;
  return esc(info);
}

function legendEntries(input: FlameInput, layout: FlameLayout, annotations: readonly FlameAnnotation[]): LegendEntry[] {
  const entries: LegendEntry[] = [];
  if (input.differential) {
    entries.push(
      { label: 'grew in spike (deeper red = more self growth)', fill: DIFF_GROW_COLOR },
      { label: 'shrank in spike (deeper blue = more self drop)', fill: DIFF_SHRINK_COLOR },
      { label: 'unchanged (width = spike)', fill: DIFF_SAME_COLOR },
    );
    for (const a of annotations) entries.push({ label: a.label, fill: DIFF_SAME_COLOR, stroke: a.color });
    return entries;
  }
  for (const a of annotations) entries.push({ label: a.label, fill: a.color });
  // The runtime and kernel hue families are explained whenever such frames are drawn.
  const kinds = new Set(layout.frames.map((f) => frameKind(f.name)));
  if (kinds.has('runtime')) entries.push({ label: 'Go runtime', fill: KIND_SWATCH.runtime });
  if (kinds.has('kernel')) entries.push({ label: 'kernel', fill: KIND_SWATCH.kernel });
  return entries;
}

/** Swatch + label entries flowing left to right in a bordered box, wrapping as needed. */
function legendBox(entries: LegendEntry[], top: number, width: number): { svg: string; bottom: number } {
  const charW = LEGEND_SIZE * FONT_WIDTH;
  const maxRight = width - 2 * XPAD;
  let x = XPAD + 8;
  let row = 0;
  const items: string[] = [];
  for (const e of entries) {
    const label = fitLabel(e.label, maxRight - XPAD - 24, charW) || e.label;
    const itemW = 12 + 5 + label.length * charW + 18;
    if (x + itemW > maxRight && x > XPAD + 8) {
      row++;
      x = XPAD + 8;
    }
    const y = top + 6 + row * LEGEND_ROW;
    const stroke = e.stroke ? ` stroke="${esc(e.stroke)}" stroke-width="2"` : ' stroke="#666" stroke-width="0.5"';
    items.push(
      `<rect x="${num(x)}" y="${y}" width="12" height="12" fill="${esc(e.fill)}"${stroke}/>`,
      `<text x="${num(x + 17)}" y="${y + 10}" font-size="${LEGEND_SIZE}">${esc(label)}</text>\n`,
    );
    x += itemW;
  }
  const h = (row + 1) * LEGEND_ROW + 6;
  return {
    svg: `<g id="legend"><rect x="${XPAD}" y="${top}" width="${width - 2 * XPAD}" height="${h}" fill="#ffffff" fill-opacity="0.6" stroke="#bbbbbb"/>\n${items.join('')}</g>\n`,
    bottom: top + h,
  };
}

function renderEmpty(input: FlameInput, width: number): string {
  const height = 120;
  return [
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="${FONT_SIZE}">\n`,
    `<title>${esc(input.title)}</title>\n`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#eeeeee"/>\n`,
    text(width / 2, FONT_SIZE * 2, input.title, { 'text-anchor': 'middle', 'font-size': TITLE_SIZE }),
    input.subtitle ? text(width / 2, FONT_SIZE * 2 + FONT_SIZE + 6, input.subtitle, { 'text-anchor': 'middle', fill: '#555' }) : '',
    text(width / 2, 80, 'no samples', { id: 'no-samples', 'text-anchor': 'middle', fill: '#777' }),
    '</svg>\n',
  ].join('');
}

/** A `<text>` element; `content` is raw text and gets escaped here. */
function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): string {
  const extra = Object.entries(attrs).map(([k, v]) => ` ${k}="${esc(String(v))}"`).join('');
  return `<text x="${num(x)}" y="${num(y)}"${extra}>${esc(content)}</text>\n`;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function num(n: number): string {
  return String(round2(n));
}
