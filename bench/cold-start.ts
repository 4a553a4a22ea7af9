/** CLI cold start: `node bin/p99sleuth.js --help` as a whole process, median of N fresh runs. */
import { execa } from 'execa';
import { performance } from 'node:perf_hooks';
import { packagePath } from '../src/util/paths.js';

export async function benchColdStart(runs: number): Promise<number[]> {
  const bin = packagePath('bin', 'p99sleuth.js');
  const ms: number[] = [];
  await execa(process.execPath, [bin, '--help'], { stdout: 'ignore' }); // warm the page cache, not counted
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await execa(process.execPath, [bin, '--help'], { stdin: 'ignore', stdout: 'ignore', reject: false, timeout: 60_000 });
    ms.push(performance.now() - t0);
    if (r.exitCode !== 0) throw new Error(`p99sleuth --help exited ${r.exitCode}: ${r.stderr}`);
  }
  return ms;
}
