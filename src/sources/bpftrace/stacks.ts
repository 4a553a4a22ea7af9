/** Stack-keyed bpftrace maps (oncpu, offcpu) to folded flame-graph stacks. Pure. */
import type { Folded } from '../pprof/fold.js';
import type { ValueType } from '../pprof/parse.js';
import type { FlameStack } from '../../render/flamegraph/model.js';
import type { BpfKey, BpfMap } from './model.js';

export interface StackFoldOptions {
  /** Key positions of the kernel stack, the user stack and the comm; defaults 0, 1, 2 (our scripts' order). */
  kstack?: number;
  ustack?: number;
  /** Key position of the comm to use as the root frame; `false` for none. */
  comm?: number | false;
  /** What the values measure, e.g. `{type: 'offcpu', unit: 'microseconds'}`; default samples/count. */
  sampleType?: ValueType;
  /** Keep only entries whose key passes, e.g. one sleep state. */
  filter?: (key: BpfKey) => boolean;
}

/**
 * Root-first stacks in FlameGraph's convention: comm, user frames, a `-` frame, then kernel frames
 * suffixed `_[k]`. Offsets (`+0x1f`, `+35`) are dropped, so stacks that differ only in where a
 * frame was sampled merge.
 */
export function stacksToFolded(map: BpfMap, opts: StackFoldOptions = {}): Folded {
  const sampleType = opts.sampleType ?? { type: 'samples', unit: 'count' };
  if (map.kind !== 'values') return { sampleType, total: 0, stacks: [] };
  const ki = opts.kstack ?? 0;
  const ui = opts.ustack ?? 1;
  const ci = opts.comm === undefined ? 2 : opts.comm;
  const merged = new Map<string, FlameStack>();
  let total = 0;
  for (const { key, value } of map.entries) {
    if (value === 0 || (opts.filter && !opts.filter(key))) continue;
    const user = frames(key[ui]).map(frameName).reverse();
    const kernel = frames(key[ki]).map((f) => `${frameName(f)}_[k]`).reverse();
    const out: string[] = [];
    if (ci !== false && key[ci] !== undefined) out.push(String(key[ci]));
    out.push(...user);
    if (user.length && kernel.length) out.push('-');
    out.push(...kernel);
    if (out.length === 0) continue;
    total += value;
    const id = out.join('\n');
    const prev = merged.get(id);
    if (prev) prev.value += value;
    else merged.set(id, { frames: out, value });
  }
  const stacks = [...merged.values()].sort((a, b) => b.value - a.value);
  return { sampleType, total, stacks };
}

const frames = (p: BpfKey[number] | undefined): string[] => (Array.isArray(p) ? p : []);

/** `runtime.futex.abi0+35` → `runtime.futex.abi0`; also drops a trailing ` (module or file:line)`. */
export function frameName(frame: string): string {
  return frame.replace(/\+(?:0x[0-9a-fA-F]+|\d+)(?:\s+\(.*\))?$/, '').replace(/\s+\([^()]*\)$/, '');
}
