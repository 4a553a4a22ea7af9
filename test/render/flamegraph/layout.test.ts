import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MIN_WIDTH, layoutFlame, type FlameFrame } from '../../../src/render/flamegraph/layout.js';
import type { FlameStack } from '../../../src/render/flamegraph/model.js';

const st = (path: string, value: number, baseValue?: number): FlameStack =>
  ({ frames: path.split(';'), value, ...(baseValue === undefined ? {} : { baseValue }) });

/** `depth:name` → frame, for readable assertions (paths are unique in these fixtures). */
function byKey(frames: FlameFrame[]): Map<string, FlameFrame> {
  return new Map(frames.map((f) => [`${f.depth}:${f.name}`, f]));
}

describe('layoutFlame', () => {
  it('puts everything under a full-width root named "all"', () => {
    const { frames, total } = layoutFlame([st('a;b', 3), st('c', 1)]);
    assert.equal(total, 4);
    assert.deepEqual([frames[0].name, frames[0].depth, frames[0].x, frames[0].width], ['all', 0, 0, 1]);
  });

  it('gives children widths that sum to the parent minus its self time, left-aligned and alphabetical', () => {
    const { frames } = layoutFlame([st('main;zeta', 2), st('main;alpha', 5), st('main;mid', 1), st('main', 2)]);
    const f = byKey(frames);
    const main = f.get('1:main')!;
    const kids = frames.filter((x) => x.depth === 2);
    assert.deepEqual(kids.map((k) => k.name), ['alpha', 'mid', 'zeta']);
    assert.equal(kids[0].x, main.x);
    for (let i = 1; i < kids.length; i++) assert.ok(Math.abs(kids[i].x - (kids[i - 1].x + kids[i - 1].width)) < 1e-12);
    const sum = kids.reduce((s, k) => s + k.width, 0);
    assert.ok(Math.abs(main.width - sum - 2 / 10) < 1e-12, 'self time (2 of 10) is the gap');
    assert.equal(main.selfValue, 2);
    assert.equal(main.value, 10);
  });

  it('merges identical stacks and identical sibling frames, but not same-named frames under different parents', () => {
    const { frames } = layoutFlame([st('a;b;c', 1), st('a;b;c', 2), st('a;b;d', 3), st('x;b', 4)]);
    const names = frames.map((f) => `${f.depth}:${f.name}`);
    assert.deepEqual(names, ['0:all', '1:a', '2:b', '3:c', '3:d', '1:x', '2:b']);
    assert.equal(frames[2].value, 6);
    assert.equal(frames[3].value, 3);
    assert.equal(frames[6].value, 4);
  });

  it('emits frames in pre-order: each frame after its parent and inside it', () => {
    const stacks = [st('r;a;b', 2), st('r;a', 1), st('r;c;d;e', 4), st('q', 3), st('r;c', 1)];
    const { frames } = layoutFlame(stacks);
    const open: FlameFrame[] = [];
    for (const f of frames) {
      while (open.length > f.depth) open.pop();
      const parent = open[open.length - 1];
      if (f.depth > 0) {
        assert.equal(parent?.depth, f.depth - 1, `${f.name} follows its parent`);
        assert.ok(f.x >= parent.x && f.x + f.width <= parent.x + parent.width + 1e-12);
      }
      open.push(f);
    }
  });

  it('prunes frames narrower than minWidth, with their descendants', () => {
    const stacks = [st('big;child', 100_000), st('tiny;deeper;deepest', 1)];
    const pruned = layoutFlame(stacks); // 1/100001 < 0.1/1200
    assert.ok(1 / 100_001 < DEFAULT_MIN_WIDTH);
    assert.deepEqual(pruned.frames.map((f) => f.name), ['all', 'big', 'child']);
    assert.equal(pruned.pruned, 3);
    assert.equal(pruned.maxDepth, 2);
    const kept = layoutFlame(stacks, { minWidth: 0 });
    assert.deepEqual(kept.frames.map((f) => f.name), ['all', 'big', 'child', 'tiny', 'deeper', 'deepest']);
    assert.equal(kept.maxDepth, 3);
  });

  it('sums baseline values, inclusive and self, for differential graphs', () => {
    const { frames, baseTotal } = layoutFlame([st('a;b', 5, 1), st('a', 1, 4), st('gone', 0, 7)]);
    const f = byKey(frames);
    assert.equal(baseTotal, 12);
    assert.deepEqual([f.get('1:a')!.value, f.get('1:a')!.baseValue, f.get('1:a')!.selfBaseValue], [6, 5, 4]);
    assert.equal(f.get('2:b')!.baseValue, 1);
    assert.equal(f.has('1:gone'), false, 'zero-width frames are not drawn');
    assert.equal(f.get('0:all')!.baseValue, 12);
  });

  it('returns no frames when there is nothing to draw', () => {
    assert.deepEqual(layoutFlame([]).frames, []);
    assert.deepEqual(layoutFlame([st('a', 0)]).frames, []);
  });

  it('counts a stack with no frames towards the root only', () => {
    const { frames } = layoutFlame([{ frames: [], value: 3 }, st('a', 1)]);
    assert.equal(frames[0].value, 4);
    assert.equal(frames[0].selfValue, 3);
    assert.equal(frames[1].width, 0.25);
  });

  it('rejects negative and non-finite values', () => {
    assert.throws(() => layoutFlame([st('a', -1)]), /stack 0/);
    assert.throws(() => layoutFlame([st('a', 1), st('b', Number.NaN)]), /stack 1/);
    assert.throws(() => layoutFlame([st('a', 1, Infinity)]), RangeError);
  });
});
