/** A real Go service for tests: the lab binary on its own loopback ports, stopped by PID. */
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.js';

export const LABSVC = path.join(ROOT, 'scripts', 'lab', 'bin', 'labsvc');

export interface TestLab {
  pid: number;
  port: number;
  pprof: string;
  stop(): Promise<void>;
}

export async function startTestLab(port: number, extra: string[] = []): Promise<TestLab> {
  if (!existsSync(LABSVC)) throw new Error(`${LABSVC} is missing: run scripts/lab/build.sh (npm test does)`);
  const proc: ResultPromise = execa(LABSVC, [`--addr=127.0.0.1:${port}`, `--control-addr=127.0.0.1:${port + 1}`, `--downstream-addr=127.0.0.1:${port + 2}`, ...extra], {
    stdio: ['ignore', 'ignore', 'ignore'],
    reject: false,
    forceKillAfterDelay: 2000,
  });
  const deadline = Date.now() + 15000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('labsvc did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: proc.pid!,
    port,
    pprof: `http://127.0.0.1:${port}/debug/pprof`,
    async stop() {
      proc.kill('SIGTERM');
      await proc;
    },
  };
}
