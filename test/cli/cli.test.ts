import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile, mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundle, cli, copyBundle, tmpDir } from '../helpers.js';
import { DIFF_GROW_COLOR } from '../../src/render/flamegraph/palette.js';

/** Exactly one error line (after any progress lines), a hint at most, and no stack trace. */
const oneErrorLine = (stderr: string, re: RegExp) => {
  const errors = stderr.split('\n').filter((l) => l.startsWith('p99sleuth: error: '));
  assert.equal(errors.length, 1, `one error line in:\n${stderr}`);
  assert.match(errors[0], re);
  assert.ok(!/\n\s+at /.test(stderr), `no stack trace without --debug:\n${stderr}`);
};

test('--help lists the commands and the exit codes', async () => {
  const r = await cli(['--help']);
  assert.equal(r.exitCode, 0);
  for (const c of ['analyze', 'demo', 'flame', 'investigate']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  assert.match(r.stdout, /Exit codes:/);
  assert.match(r.stdout, /130\s+interrupted/);
});

test('an unknown flag is a usage error (exit 2)', async () => {
  const r = await cli(['analyze', 'x', '--frobnicate']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /unknown option '--frobnicate'/);
});

test('investigate of a Kubernetes target without a usable kubectl names it and the flag to fix it (exit 4)', async () => {
  const r = await cli(['investigate', 'deploy/checkout', '-n', 'shop'], { env: { KUBECTL: '/nonexistent/kubectl' } });
  assert.equal(r.exitCode, 4);
  oneErrorLine(r.stderr, /\/nonexistent\/kubectl is not installed or not on PATH/);
  assert.match(r.stderr, /hint: .*--kubectl PATH/);
  assert.equal(r.stdout, '');
});

test('analyze: missing directory, directory without manifest, unknown schema → exit 3 naming the file', async () => {
  const r1 = await cli(['analyze', '/nonexistent/bundle', '--no-flamegraphs']);
  assert.equal(r1.exitCode, 3);
  oneErrorLine(r1.stderr, /\/nonexistent\/bundle: no such directory/);

  const empty = await tmpDir();
  const r2 = await cli(['analyze', empty, '--no-flamegraphs']);
  assert.equal(r2.exitCode, 3);
  oneErrorLine(r2.stderr, /manifest\.json: missing/);
  assert.match(r2.stderr, /hint: /);

  const b = await copyBundle('healthy');
  const m = JSON.parse(await readFile(path.join(b, 'manifest.json'), 'utf8'));
  await writeFile(path.join(b, 'manifest.json'), JSON.stringify({ ...m, schema: 'p99sleuth/bundle@7' }));
  const r3 = await cli(['analyze', b, '--no-flamegraphs']);
  assert.equal(r3.exitCode, 3);
  oneErrorLine(r3.stderr, /manifest\.json: unknown bundle schema "p99sleuth\/bundle@7"/);
});

test('analyze: missing artifact, truncated pprof, gzip that is not pprof → exit 3 naming the artifact', async () => {
  const cases: Array<[string, (f: string) => Promise<void>, RegExp]> = [
    ['missing', (f) => rm(f), /cpu\.pb\.gz: artifact listed in manifest\.json is missing/],
    ['truncated', async (f) => writeFile(f, (await readFile(f)).subarray(0, 200)), /cpu\.pb\.gz: gzip data is corrupt or truncated/],
    ['not pprof', (f) => writeFile(f, gzipSync(Buffer.from('<html>not a profile</html>'))), /cpu\.pb\.gz: not a pprof profile/],
    ['empty file', (f) => writeFile(f, ''), /cpu\.pb\.gz: empty file/],
  ];
  for (const [name, mutate, re] of cases) {
    const b = await copyBundle('healthy');
    await mutate(path.join(b, 'pprof', 'spike', 'cpu.pb.gz'));
    const out = path.join(await tmpDir(), 'out');
    const r = await cli(['analyze', b, '--out', out]);
    assert.equal(r.exitCode, 3, name);
    oneErrorLine(r.stderr, re);
    assert.equal(r.stdout, '', `${name}: nothing on stdout`);
    assert.ok(!existsSync(out), `${name}: nothing half-written`);
  }
});

test('--debug adds the stack trace', async () => {
  const r = await cli(['--debug', 'analyze', '/nonexistent/bundle']);
  assert.equal(r.exitCode, 3);
  assert.match(r.stderr, /\n\s+at /);
});

test('analyze --format json prints only the report on stdout, progress on stderr', async () => {
  const out = path.join(await tmpDir(), 'out');
  const r = await cli(['analyze', bundle('lock-contention'), '--format', 'json', '--out', out]);
  assert.equal(r.exitCode, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.schema, 'p99sleuth/report@1');
  assert.equal(report.verdict, 'cause-found');
  assert.equal(report.causes[0].id, 'lock-contention');
  for (const k of ['id', 'level', 'score', 'confidence', 'title', 'reasons', 'evidence', 'remedies', 'flamegraphs']) assert.ok(k in report.causes[0], k);
  assert.ok(report.walk.length > 0 && Array.isArray(report.collectors));
  assert.match(r.stderr, /p99sleuth: reading bundle/);
  assert.ok(report.causes[0].flamegraphs.length > 0);
  for (const f of report.files) assert.ok(existsSync(f), f);
  assert.deepEqual(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')).causes.map((c: { id: string }) => c.id), report.causes.map((c: { id: string }) => c.id));
});

test('analyze --exit-code: 1 when a cause is found, 0 on a healthy bundle', async () => {
  const out = await tmpDir();
  const sick = await cli(['analyze', bundle('gc-pressure'), '--exit-code', '--no-flamegraphs', '--out', out]);
  assert.equal(sick.exitCode, 1, sick.stderr);
  const healthy = await cli(['analyze', bundle('healthy'), '--exit-code', '--no-flamegraphs', '--out', out]);
  assert.equal(healthy.exitCode, 0, healthy.stderr);
  assert.match(healthy.stdout, /VERDICT no-cause-found/);
});

test('text report: no ANSI colour without a TTY or with NO_COLOR, 80 columns, markdown format', async () => {
  const r = await cli(['analyze', bundle('lock-contention'), '--no-flamegraphs'], { env: { NO_COLOR: '1' } });
  assert.equal(r.exitCode, 0);
  assert.ok(!/\u001b\[/.test(r.stdout));
  for (const line of r.stdout.split('\n')) assert.ok(line.length <= 80, `over 80 columns: ${line}`);
  assert.match(r.stdout, /Decision flow/);
  const forced = await cli(['analyze', bundle('lock-contention'), '--no-flamegraphs'], { env: { FORCE_COLOR: '1' } });
  assert.match(forced.stdout, /\u001b\[/);
  const plain = await cli(['--no-color', 'analyze', bundle('lock-contention'), '--no-flamegraphs'], { env: { FORCE_COLOR: '1' } });
  assert.ok(!/\u001b\[/.test(plain.stdout));
  const md = await cli(['analyze', bundle('lock-contention'), '--no-flamegraphs', '--format', 'markdown']);
  assert.match(md.stdout, /^## p99sleuth: cause-found/);
  assert.match(md.stdout, /\| 1 \| `lock-contention` \|/);
});

test('demo analyses the shipped bundle and writes annotated flame graphs', async () => {
  const cwd = await tmpDir();
  const r = await cli(['demo'], { cwd });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /VERDICT cause-found/);
  const files = await readdir(path.join(cwd, 'p99sleuth-demo'));
  assert.ok(files.includes('cpu.svg') && files.includes('cpu.folded') && files.includes('cpu.diff.svg'), files.join(' '));
  const svg = await readFile(path.join(cwd, 'p99sleuth-demo', 'cpu.svg'), 'utf8');
  assert.match(svg, /top causes: /);
});

test('flame draws a graph and a .folded from a real profile, and a diff with --base', async () => {
  const dir = await tmpDir();
  const spike = path.join(bundle('cpu-bound'), 'pprof', 'spike', 'cpu.pb.gz');
  const base = path.join(bundle('cpu-bound'), 'pprof', 'baseline', 'cpu.pb.gz');
  const r = await cli(['flame', spike, '-o', path.join(dir, 'cpu.svg')]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, `${path.join(dir, 'cpu.svg')}\n${path.join(dir, 'cpu.folded')}`);
  assert.match(await readFile(path.join(dir, "cpu.folded"), "utf8"), /^net\/http\.\(\*conn\)\.serve;.+;main\.computeRiskScore;.+ \d+$/m);
  const d = await cli(['flame', spike, '--base', base, '-o', path.join(dir, 'diff.svg')]);
  assert.equal(d.exitCode, 0, d.stderr);
  assert.ok((await readFile(path.join(dir, 'diff.svg'), 'utf8')).includes(DIFF_GROW_COLOR), 'frames that grew in the spike are red');
  const bad = await cli(['flame', spike, '--sample-type', 'nope']);
  assert.equal(bad.exitCode, 3);
  oneErrorLine(bad.stderr, /sample type "nope"/);
});

test('an unwritable output directory is exit 5 with the path named', async () => {
  const ro = await tmpDir();
  await mkdir(path.join(ro, 'locked'));
  await chmod(path.join(ro, 'locked'), 0o500);
  const file = path.join(ro, 'plainfile');
  await writeFile(file, 'x');
  // A path under a regular file cannot be created, even by root.
  const r = await cli(['analyze', bundle('healthy'), '--out', path.join(file, 'out')]);
  assert.equal(r.exitCode, 5, r.stderr);
  oneErrorLine(r.stderr, /plainfile\/out/);
});
