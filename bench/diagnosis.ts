/**
 * Time to diagnosis: wall time of a whole `investigate --local --pid P --duration D` (target found,
 * pprof endpoint discovered, every collector, bundle, analysis, flame graphs) against a real Go
 * process, the lab service, compared with D. Optional (P99SLEUTH_BENCH_LAB=1): it starts the lab
 * binary (scripts/lab/build.sh) on loopback ports 16500-16502, so run it under
 * `flock /tmp/p99sleuth-lab.lock` where other lab suites share the machine. As root, the bpftrace
 * scripts run too, as in a real investigation.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { packagePath } from '../src/util/paths.js';

const PORT = 16500;

export type DiagnosisResult = { measured: false; reason: string } | { measured: true; seconds: number; wallMs: number[]; bpf: boolean };

export async function benchDiagnosis(runs: number, seconds: number, log: (s: string) => void): Promise<DiagnosisResult> {
  if (process.env.P99SLEUTH_BENCH_LAB !== '1') return { measured: false, reason: 'not measured: set P99SLEUTH_BENCH_LAB=1 (starts the lab service; run under flock /tmp/p99sleuth-lab.lock)' };
  const labsvc = packagePath('scripts', 'lab', 'bin', 'labsvc');
  if (!existsSync(labsvc)) throw new Error(`${labsvc} is missing: run bash scripts/lab/build.sh`);
  const lab = execa(labsvc, [`--addr=127.0.0.1:${PORT}`, `--control-addr=127.0.0.1:${PORT + 1}`, `--downstream-addr=127.0.0.1:${PORT + 2}`], { stdio: 'ignore', reject: false, forceKillAfterDelay: 2000 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p99sleuth-bench-diag-'));
  try {
    const deadline = Date.now() + 15_000;
    while (!(await fetch(`http://127.0.0.1:${PORT}/metrics`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error('the lab service did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      log(`time to diagnosis run ${i + 1}/${runs}: investigate --duration ${seconds}s …`);
      const t0 = performance.now();
      const r = await execa(process.execPath, [packagePath('bin', 'p99sleuth.js'), 'investigate', '--local', '--pid', String(lab.pid), '--duration', `${seconds}s`, '--out', path.join(dir, `b${i}`), '--format', 'json', '-q'], { stdin: 'ignore', stdout: 'ignore', reject: false, timeout: (seconds + 120) * 1000 });
      wallMs.push(performance.now() - t0);
      if (r.exitCode !== 0) throw new Error(`investigate exited ${r.exitCode}: ${r.stderr}`);
    }
    return { measured: true, seconds, wallMs, bpf: process.geteuid?.() === 0 };
  } finally {
    lab.kill('SIGTERM');
    await lab;
    await rm(dir, { recursive: true, force: true });
  }
}
