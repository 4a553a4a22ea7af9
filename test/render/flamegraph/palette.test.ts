import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FlameAnnotation } from '../../../src/render/flamegraph/model.js';
import {
  DIFF_GROW_COLOR, DIFF_SAME_COLOR, DIFF_SHRINK_COLOR, SEPARATOR_COLOR,
  diffColor, frameColor, frameFill, frameKind, matchAnnotation,
} from '../../../src/render/flamegraph/palette.js';

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

describe('frameKind and frameColor', () => {
  it('classifies frames by name', () => {
    assert.equal(frameKind('runtime.mallocgc'), 'runtime');
    assert.equal(frameKind('runtime/internal/atomic.Load'), 'runtime');
    assert.equal(frameKind('internal/runtime/atomic.Load'), 'runtime');
    assert.equal(frameKind('do_syscall_64_[k]'), 'kernel');
    assert.equal(frameKind('-'), 'separator');
    assert.equal(frameKind('--'), 'separator');
    assert.equal(frameKind('main.runtimeStats'), 'user');
  });

  it('gives a name the same colour every time, and different names different colours', () => {
    assert.equal(frameColor('main.handler'), frameColor('main.handler'));
    const names = Array.from({ length: 50 }, (_, i) => `main.f${i}`);
    assert.ok(new Set(names.map(frameColor)).size > 40);
  });

  it('uses the hot palette for user code and distinct families for runtime, kernel and the separator', () => {
    for (let i = 0; i < 50; i++) {
      const [r, g, b] = rgb(frameColor(`main.f${i}`));
      assert.ok(r >= 205 && g <= 230 && b <= 55, 'hot: red to yellow');
      const [rr, rg, rb] = rgb(frameColor(`runtime.f${i}`));
      assert.ok(rr < 110 && rg >= 165 && rb >= 165, 'runtime: aqua');
      const [kr, kg, kb] = rgb(frameColor(`f${i}_[k]`));
      assert.ok(kb >= 190 && kr < 140 && kg === kr, 'kernel: blue');
    }
    assert.equal(frameColor('-'), SEPARATOR_COLOR);
  });
});

describe('matchAnnotation', () => {
  const a: FlameAnnotation = { id: 'a', label: 'A', color: '#111111', patterns: [/^runtime\.gc/g] };
  const b: FlameAnnotation = { id: 'b', label: 'B', color: '#222222', patterns: [/x/, /gcDrain/] };

  it('returns the first annotation, in order, with a matching pattern', () => {
    assert.equal(matchAnnotation('runtime.gcDrain', [a, b]), a);
    assert.equal(matchAnnotation('runtime.gcDrain', [b, a]), b);
    assert.equal(matchAnnotation('main.f', [a, b]), undefined);
    assert.equal(frameFill('runtime.gcDrain', [a]), '#111111');
    assert.equal(frameFill('main.f', [a]), frameColor('main.f'));
  });

  it('is not fooled by the state of /g patterns', () => {
    assert.equal(matchAnnotation('runtime.gcDrain', [a]), a);
    assert.equal(matchAnnotation('runtime.gcDrain', [a]), a);
  });
});

describe('diffColor', () => {
  it('is red for growth and blue for shrink, saturating with |delta| / max', () => {
    assert.equal(diffColor(10, 5, 5, 5), DIFF_GROW_COLOR);
    assert.equal(diffColor(5, 10, -5, 5), DIFF_SHRINK_COLOR);
    const half = rgb(diffColor(10, 5, 2.5, 5));
    const full = rgb(DIFF_GROW_COLOR);
    const none = rgb(DIFF_SAME_COLOR);
    half.forEach((c, i) => assert.ok(Math.abs(c - (none[i] + full[i]) / 2) <= 1));
  });

  it('is near-white without change and full colour for frames on one side only', () => {
    assert.equal(diffColor(5, 5, 0, 10), DIFF_SAME_COLOR);
    assert.equal(diffColor(3, 0, 0.1, 10), DIFF_GROW_COLOR);
    assert.equal(diffColor(0, 3, -0.1, 10), DIFF_SHRINK_COLOR);
  });
});
