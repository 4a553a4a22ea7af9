import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { findPprof, inspectProcess, isGoBinary, parsePid, parseProcNetTcp } from '../../src/target/local.js';
import { SleuthError } from '../../src/errors.js';
import { startTestLab, type TestLab, LABSVC } from '../labproc.js';

let lab: TestLab;
before(async () => {
  lab = await startTestLab(17180);
});
after(() => lab.stop());

const usage = (re: RegExp) => (e: unknown) => e instanceof SleuthError && e.kind === 'usage' && re.test(e.message);

test('PIDs are validated before anything reads /proc', () => {
  for (const bad of ['0', '-1', 'abc', '12x', '1; rm -rf /', '']) assert.throws(() => parsePid(bad), usage(/is not a process id/), bad);
  assert.equal(parsePid('4242'), 4242);
});

test('an unknown PID and a non-Go process are usage errors that say so', async () => {
  await assert.rejects(inspectProcess(999_999_999), usage(/no process with PID 999999999/));
  // This test runner is node, not Go.
  await assert.rejects(inspectProcess(process.pid), usage(/is not a Go program/));
});

test('a real Go service: recognised, its listening ports found, pprof discovered on one of them', async () => {
  assert.equal(await isGoBinary(LABSVC), true);
  assert.equal(await isGoBinary(process.execPath), false);
  const p = await inspectProcess(lab.pid);
  assert.equal(p.comm, 'labsvc');
  for (const port of [lab.port, lab.port + 1, lab.port + 2]) assert.ok(p.listenPorts.includes(port), `${port} in ${p.listenPorts}`);
  assert.equal(await findPprof(p.listenPorts), lab.pprof);
});

test('/proc/net/tcp of this machine parses; LISTEN rows have ports and inodes', async () => {
  const rows = parseProcNetTcp(await readFile('/proc/self/net/tcp', 'utf8'));
  assert.ok(rows.length > 0);
  const listen = rows.filter((r) => r.state === 'LISTEN');
  assert.ok(listen.some((r) => r.port === lab.port), 'the lab port is listening');
  assert.ok(listen.every((r) => /^\d+$/.test(r.inode) && r.port > 0 && r.port < 65536));
});
