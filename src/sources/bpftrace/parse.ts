/**
 * bpftrace output (text, or `-f json` with one object per line) to one model. Pure.
 * Text: `@m[k1, k2]: 5`, `@m: count 3, average 1, total 4`, `@m:` + histogram rows; stack keys span
 * lines. JSON: `{"type": "map"|"hist"|"stats", "data": {"@m": ...}}`, keys joined by ",".
 */
import { JsonObject, parseJsonPairs, type JsonValue } from './jsonpairs.js';
import { MapBuilder, OPEN_HIGH, OPEN_LOW, parseFailure as fail, splitKey, type BpfKey, type BpfOutput, type HistBucket, type Origin, type Value } from './model.js';

export type { BpfKey, BpfKeyPart, BpfMap, BpfMapKind, BpfOutput, HistBucket } from './model.js';
export { OPEN_HIGH, OPEN_LOW } from './model.js';
export { stacksToFolded, type StackFoldOptions } from './stacks.js';
export { histQuantile, histTotal, histMean, sumValues, mapEntries } from './hist.js';
export { softirqName, SOFTIRQ_VECTORS, taskStateName, tcpStateName, devName } from './names.js';

/** Parse bpftrace output; `source` names it in errors (a file or `bpftrace runqlat.bt`). */
export function parseBpftrace(text: string, source: string): BpfOutput {
  const lines = text.split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== '');
  return first !== undefined && /^\s*\{\s*"type"\s*:/.test(first) ? parseJson(lines, source) : parseText(lines, source);
}

// ---- text ----

const NUM = String.raw`-?\d+`;
const STATS_RE = new RegExp(`^count (${NUM}), average (${NUM}), total (${NUM})$`);
const LABEL = String.raw`-?\d+[KMGT]?`;
// `[0]`, `[2, 4)`, `(..., 0)`, `[100, ...)`, then the count and the bar.
const BUCKET_RE = new RegExp(String.raw`^(?:\[(${LABEL})\]|\[(${LABEL}), (${LABEL}|\.\.\.)\)|\(\.\.\., (${LABEL})\))\s+(\d+) \|[@ ]*\|$`);
/** Closes a map key: `]: value` at the end of a line (value empty when histogram rows follow). */
const KEY_END_RE = /\]:(?: ([^\]]*))?$/;

function parseText(lines: string[], source: string): BpfOutput {
  const maps = new MapBuilder();
  const out: BpfOutput = { maps: {}, printed: [] };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const o: Origin = { source, line: i + 1 };
    if (line.trim() === '') continue;
    let m: RegExpMatchArray | null;
    if ((m = /^Attaching (\d+) probes?\.\.\.$/.exec(line))) {
      out.attachedProbes = Number(m[1]);
      continue;
    }
    if ((m = /^Lost (\d+) events$/.exec(line))) {
      out.lostEvents = (out.lostEvents ?? 0) + Number(m[1]);
      continue;
    }
    if (!(m = /^(@\w*)([[:])/.exec(line))) {
      out.printed.push(line);
      continue;
    }
    const name = m[1];
    let key: BpfKey = [];
    let rest: string;
    if (m[2] === '[') {
      // Gather the key up to the closing `]:`; stack frames are indented, so they never close it.
      let buf = line.slice(m[0].length);
      let end = KEY_END_RE.exec(buf);
      while (!end) {
        if (++i >= lines.length) throw fail(o, `unterminated key of ${name}`);
        const start = buf.length + 1;
        buf += '\n' + lines[i];
        if (!/^\s/.test(lines[i])) end = KEY_END_RE.exec(lines[i]);
        if (end) end.index += start;
      }
      key = splitKey(buf.slice(0, end.index), ', ', o);
      rest = (end[1] ?? '').trim();
    } else {
      rest = line.slice(m[0].length).trim();
    }
    let value: Value;
    let sm: RegExpExecArray | null;
    if (rest === '') {
      const buckets: HistBucket[] = [];
      while (i + 1 < lines.length && /^[[(]/.test(lines[i + 1])) {
        i++;
        buckets.push(parseBucket(lines[i], { source, line: i + 1 }));
      }
      value = { kind: 'hist', buckets };
    } else if (/^-?\d+$/.test(rest)) {
      value = { kind: key.length ? 'values' : 'scalar', value: Number(rest) };
    } else if ((sm = STATS_RE.exec(rest))) {
      value = { kind: 'stats', count: Number(sm[1]), average: Number(sm[2]), total: Number(sm[3]) };
    } else {
      throw fail({ source, line: i + 1 }, `unsupported value for ${name}: ${JSON.stringify(rest.slice(0, 60))}`);
    }
    maps.add(name, key, value, o);
  }
  out.maps = maps.build();
  return out;
}

function parseBucket(line: string, o: Origin): HistBucket {
  const m = BUCKET_RE.exec(line.trimEnd());
  if (!m) throw fail(o, `malformed histogram row: ${JSON.stringify(line.slice(0, 60))}`);
  const count = Number(m[5]);
  if (m[1] !== undefined) {
    const v = label(m[1]);
    return { lo: v, hi: v + 1, count };
  }
  if (m[2] !== undefined) return { lo: label(m[2]), hi: m[3] === '...' ? OPEN_HIGH : label(m[3]), count };
  return { lo: OPEN_LOW, hi: label(m[4]), count };
}

const SUFFIX: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `512`, `1K`, `16M`: bpftrace's power-of-1024 labels. */
function label(s: string): number {
  const unit = SUFFIX[s[s.length - 1]];
  return unit ? Number(s.slice(0, -1)) * unit : Number(s);
}

// ---- JSON ----

function parseJson(lines: string[], source: string): BpfOutput {
  const maps = new MapBuilder();
  const out: BpfOutput = { maps: {}, printed: [] };
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const o: Origin = { source, line: i + 1 };
    let msg: JsonValue;
    try {
      msg = parseJsonPairs(lines[i]);
    } catch (err) {
      throw fail(o, `not JSON: ${(err as Error).message}`);
    }
    const type = msg instanceof JsonObject ? msg.get('type') : undefined;
    if (!(msg instanceof JsonObject) || typeof type !== 'string') throw fail(o, 'expected {"type": ..., "data": ...}');
    const data = msg.get('data');
    switch (type) {
      case 'attached_probes':
        out.attachedProbes = count(data instanceof JsonObject ? data.get('probes') : undefined, o);
        break;
      case 'lost_events':
        out.lostEvents = (out.lostEvents ?? 0) + count(data instanceof JsonObject ? data.get('events') : undefined, o);
        break;
      case 'map':
      case 'hist':
      case 'stats':
        if (!(data instanceof JsonObject)) throw fail(o, `${type} without data`);
        for (const [name, v] of data.members) addJsonMap(maps, type, name, v, o);
        break;
      default:
        // printf, time, join, ...: text lines, like the text format prints them.
        if (typeof data === 'string') out.printed.push(...data.split('\n').filter((l) => l.trim() !== ''));
    }
  }
  out.maps = maps.build();
  return out;
}

function addJsonMap(maps: MapBuilder, type: 'map' | 'hist' | 'stats', name: string, v: JsonValue, o: Origin): void {
  // As in the text format: `@name`. Anything else (e.g. `__proto__`) is not bpftrace's and must not become a key of `maps`.
  if (!/^@\w*$/.test(name)) throw fail(o, `not a map name: ${JSON.stringify(name.slice(0, 60))}`);
  const parse = type === 'hist' ? jsonHist : type === 'stats' ? jsonStats : (x: JsonValue, o: Origin): Value => ({ kind: 'values', value: num(x, o) });
  const unkeyed = type === 'hist' ? Array.isArray(v) : type === 'stats' ? isStats(v) : !(v instanceof JsonObject);
  if (unkeyed) {
    const value = parse(v, o);
    maps.add(name, [], value.kind === 'values' ? { kind: 'scalar', value: value.value } : value, o);
    return;
  }
  if (!(v instanceof JsonObject)) throw fail(o, `${name}: expected an object of keyed values`);
  // Duplicate keys are kept by the reader and summed by the builder.
  for (const [k, x] of v.members) maps.add(name, splitKey(k, ',', o), parse(x, o), o);
}

function jsonHist(v: JsonValue, o: Origin): Value {
  if (!Array.isArray(v)) throw fail(o, 'histogram is not an array');
  const buckets = v.map((b): HistBucket => {
    if (!(b instanceof JsonObject)) throw fail(o, 'histogram bucket is not an object');
    // JSON buckets are closed [min, max]; a missing min/max is an open end.
    const min = b.get('min');
    const max = b.get('max');
    return {
      lo: min === undefined ? OPEN_LOW : num(min, o),
      hi: max === undefined ? OPEN_HIGH : num(max, o) + 1,
      count: count(b.get('count'), o),
    };
  });
  return { kind: 'hist', buckets };
}

function isStats(v: JsonValue): v is JsonObject {
  return v instanceof JsonObject && ['count', 'average', 'total'].every((k) => {
    const x = v.get(k);
    return typeof x === 'number' || typeof x === 'string';
  });
}

function jsonStats(v: JsonValue, o: Origin): Value {
  if (!isStats(v)) throw fail(o, 'stats value without count/average/total');
  return { kind: 'stats', count: num(v.get('count'), o), average: num(v.get('average'), o), total: num(v.get('total'), o) };
}

/** A count (probes, lost events, histogram observations): never negative, as in the text format. */
function count(v: JsonValue | undefined, o: Origin): number {
  const n = num(v, o);
  if (n < 0) throw fail(o, `expected a count, got ${JSON.stringify(v)}`);
  return n;
}

/** Newer bpftrace writes integers beyond 2^53 as strings. */
function num(v: JsonValue | undefined, o: Origin): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw fail(o, `expected a number, got ${JSON.stringify(v)}`);
  return n;
}
