/** Stack vocabulary, on stacks taken from the real fixture profiles. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openBundle } from '../../src/evidence/bundle.js';
import { loadEvidence } from '../../src/evidence/load.js';
import { classifyStack, isOutboundCall, isRequestPath } from '../../src/analysis/frames.js';
import { goroutineState } from '../../src/analysis/features.js';
import { bundle } from '../helpers.js';

const stacksOf = async (name: string, kind: 'cpu' | 'goroutine' | 'block', window: 'spike' | 'baseline' = 'spike') =>
  (await loadEvidence(await openBundle(bundle(name))))[window]!.profiles[kind]!.folded.stacks;

test('GC mark workers and assists are classified as GC in a real CPU profile', async () => {
  const stacks = await stacksOf('gc-pressure', 'cpu');
  const cats = new Set(stacks.map((s) => classifyStack(s.frames)));
  for (const c of ['gc', 'gc-assist', 'alloc', 'app']) assert.ok(cats.has(c as never), c);
  const worker = stacks.find((s) => s.frames.includes('runtime.gcBgMarkWorker'))!;
  assert.equal(classifyStack(worker.frames), 'gc');
  const assist = stacks.find((s) => s.frames.includes('runtime.gcAssistAlloc'))!;
  assert.equal(classifyStack(assist.frames), 'gc-assist');
});

test('our own pprof capture is not a request in flight', async () => {
  const stacks = await stacksOf('healthy', 'goroutine');
  const pprofHandlers = stacks.filter((s) => s.frames.some((f) => f.startsWith('net/http/pprof.')));
  assert.ok(pprofHandlers.length > 0, 'the capture shows up in its own snapshots');
  assert.ok(pprofHandlers.every((s) => !isRequestPath(s.frames)));
});

test('a slow dependency: request goroutines inside net/http client calls are outbound, not channel waits', async () => {
  const stacks = (await stacksOf('downstream-latency', 'goroutine')).filter((s) => isRequestPath(s.frames));
  const outbound = stacks.filter((s) => isOutboundCall(s.frames));
  assert.ok(outbound.length > 0);
  for (const s of outbound) assert.equal(goroutineState(s.frames), 'outbound');
  // net/http's client waits in a select: without the outbound check it would look like channel blocking.
  assert.ok(outbound.some((s) => s.frames.includes('runtime.selectgo')));
});

test('lock and channel waits in a real block profile', async () => {
  const lock = (await stacksOf('lock-contention', 'block')).filter((s) => isRequestPath(s.frames) && goroutineState(s.frames) === 'lock');
  assert.ok(lock.length > 0 && lock.every((s) => s.frames.some((f) => f.startsWith('sync.'))));
  const chan = (await stacksOf('channel-blocking', 'block')).filter((s) => isRequestPath(s.frames) && goroutineState(s.frames) === 'channel');
  assert.ok(chan.length > 0);
});

test('classification of synthetic edge cases', () => {
  assert.equal(classifyStack([]), 'runtime');
  assert.equal(classifyStack(['runtime.goexit', 'main.work', 'runtime.gopark']), 'app'); // parked, reason unknown: the app frame decides
  assert.equal(classifyStack(['runtime.goexit', 'main.h', 'sync.(*WaitGroup).Wait', 'sync.runtime_Semacquire', 'runtime.semacquire1', 'runtime.gopark']), 'channel');
  assert.equal(classifyStack(['runtime.goexit', 'main.h', 'sync.(*Mutex).Lock', 'sync.(*Mutex).lockSlow', 'sync.runtime_SemacquireMutex', 'runtime.semacquire1', 'runtime.gopark']), 'lock');
  assert.equal(classifyStack(['runtime.mstart', 'runtime.schedule', 'runtime.findRunnable', 'runtime.stealWork']), 'scheduler');
});
