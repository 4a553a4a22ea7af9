/** The fuzz watchdog really bounds a call: a hung synchronous call kills the run and names its input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../helpers.js';

test('a call that never returns is aborted after the bound, with its input written out', async () => {
  const child = execa(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'fuzz', 'hang-double.ts')], {
    reject: false,
    env: { FUZZ_CALL_BOUND_MS: '300' },
    timeout: 30_000, // the backstop if the watchdog failed: the test then fails on the signal below
  });
  const r = await child;
  assert.equal(r.signal, 'SIGABRT', `ended by ${r.signal ?? `exit ${r.exitCode}`}: ${r.stderr}`);
  const dump = path.join(os.tmpdir(), `p99sleuth-fuzz-hang-${child.pid}.bin`);
  assert.match(r.stderr, /ran longer than 300 ms/);
  assert.ok(existsSync(dump), r.stderr);
  assert.equal(await readFile(dump, 'utf8'), 'input that hangs');
  await rm(dump, { force: true });
});
