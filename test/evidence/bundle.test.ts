import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { BundleWriter, openBundle } from '../../src/evidence/bundle.js';
import { loadEvidence } from '../../src/evidence/load.js';
import { analyse } from '../../src/analysis/flow.js';
import { SleuthError } from '../../src/errors.js';
import { bundle, cli, copyBundle, tmpDir } from '../helpers.js';

const windows = { spike: { start: '2026-11-21T00:00:10Z', end: '2026-11-21T00:00:20Z' } };

test('a bundle appears only when finished, with private modes, and reads back', async () => {
  const dir = path.join(await tmpDir(), 'b');
  const w = await BundleWriter.create(dir);
  const cpu = await readFile(path.join(bundle('cpu-bound'), 'pprof', 'spike', 'cpu.pb.gz'));
  const rel = await w.writeArtifact('pprof/spike/cpu.pb.gz', cpu);
  w.record({ name: 'pprof.cpu', window: 'spike', status: 'ok', artifacts: [rel], meta: { seconds: 10 } });
  assert.ok(!existsSync(dir), 'nothing at the final path before finish');
  await w.finish({ complete: true, target: { kind: 'local', description: 'pid 1' }, windows });
  assert.ok(existsSync(path.join(dir, 'manifest.json')));
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(path.join(dir, 'pprof', 'spike', 'cpu.pb.gz'))).mode & 0o777, 0o600);
  assert.deepEqual((await readdir(path.dirname(dir))).filter((n) => n.includes('partial')), [], 'work directory renamed away');
  const b = await openBundle(dir);
  assert.equal(b.manifest.schema, 'p99sleuth/bundle@1');
  assert.deepEqual(await b.read(rel), cpu);
  const ev = await loadEvidence(b);
  assert.ok(ev.spike.profiles.cpu && ev.spike.profiles.cpu.seconds === 10);
});

test('refuses to write into a non-empty directory', async () => {
  const dir = await tmpDir();
  await writeFile(path.join(dir, 'x'), 'x');
  await assert.rejects(BundleWriter.create(dir), (e: unknown) => e instanceof SleuthError && e.kind === 'usage' && /not empty/.test(e.message));
});

test('artifact paths cannot escape the bundle', async () => {
  const w = await BundleWriter.create(path.join(await tmpDir(), 'b'));
  await assert.rejects(w.writeArtifact('../evil', 'x'), SleuthError);
  await assert.rejects(w.writeArtifact('/etc/evil', 'x'), SleuthError);
});

test('an interrupted (incomplete) bundle still analyses and says it is partial', async () => {
  const dir = await copyBundle('lock-contention');
  const m = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  // As after Ctrl-C late in the spike window: the heap snapshot never arrived, half the goroutine snapshots did.
  m.complete = false;
  m.incompleteReason = 'interrupted (SIGINT)';
  for (const c of m.collectors) {
    if (c.name === 'pprof.heap' && c.window === 'spike') Object.assign(c, { status: 'failed', message: 'interrupted', artifacts: [] });
    if (c.name === 'pprof.goroutine' && c.window === 'spike') c.artifacts = c.artifacts.slice(0, 5);
  }
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(m));
  const ev = await loadEvidence(await openBundle(dir));
  assert.ok(ev.gaps.some((g) => /partial/.test(g)));
  assert.ok(ev.gaps.some((g) => /pprof\.heap \(spike\) failed: interrupted/.test(g)));
  assert.equal(ev.spike.profiles.goroutine?.snapshots, 5);
  const a = analyse(ev);
  assert.equal(a.reported[0]?.id, 'lock-contention');
  const out = path.join(await tmpDir(), 'out');
  await mkdir(out);
  const r = await cli(['analyze', dir, '--out', out, '--no-color']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /PARTIAL:\s+capture\s+did\s+not\s+finish/);
});
