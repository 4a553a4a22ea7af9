/** yieldCpu lowers every thread of the process, not only the calling one (Linux nice is per thread). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import path from 'node:path';
import { ROOT } from '../helpers.js';

test('yieldCpu: every thread of the process gets the nice value, helpers included', async () => {
  // A fresh process: lowering the test runner itself would slow the other tests.
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    const { yieldCpu } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'priority.js'))});
    yieldCpu(7);
    const nice = readdirSync('/proc/self/task').map((t) => Number(readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16]));
    console.log(JSON.stringify(nice));`;
  const r = await execa(process.execPath, ['--input-type=module', '-e', script]);
  const nice = JSON.parse(r.stdout) as number[];
  assert.ok(nice.length > 1, 'node runs several threads');
  assert.deepEqual([...new Set(nice)], [7]);
});
