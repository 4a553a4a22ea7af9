import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { captureLocal } from '../../src/capture/local.js';
import type { Progress } from '../../src/ui/progress.js';
import { tmpDir } from '../helpers.js';
import { startTestLab, type TestLab } from '../labproc.js';

let lab: TestLab;
before(async () => {
  lab = await startTestLab(17480);
});
after(() => lab.stop());

test('a failure in the middle of a capture still leaves a marked, partial bundle', async () => {
  const out = path.join(await tmpDir(), 'bundle');
  let collectorsDone = 0;
  // Fails right after the first collector finished, as an unexpected error would.
  const progress: Progress = {
    start() {},
    done() {
      if (++collectorsDone === 1) throw new Error('display broke');
    },
    note() {},
    stop() {},
  };
  await assert.rejects(
    captureLocal({ pid: lab.pid, sinceSeconds: 600, durationSeconds: 1, out, kinds: ['heap', 'cpu'], bpfScripts: [] }, progress, new AbortController().signal),
    /display broke/,
  );
  const m = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.complete, false);
  assert.match(m.incompleteReason, /capture failed: display broke/);
  assert.ok(m.collectors.length >= 1, 'what was captured is listed');
});
