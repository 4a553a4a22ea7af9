/** Shared test helpers: fixture paths, temp copies of bundles, running the built CLI. */
import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLES = path.join(ROOT, 'fixtures', 'bundles');
export const bundle = (name: string) => path.join(BUNDLES, name);

/** The fault scenarios recorded in fixtures (each named after the cause it reproduces) plus healthy. */
export const USER_SPACE_CAUSES = ['gc-pressure', 'lock-contention', 'channel-blocking', 'cpu-bound', 'goroutine-leak', 'go-scheduler-latency', 'downstream-latency'] as const;

export async function tmpDir(prefix = 'p99sleuth-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A writable copy of a fixture bundle. */
export async function copyBundle(name: string): Promise<string> {
  const dir = path.join(await tmpDir(), name);
  await cp(bundle(name), dir, { recursive: true });
  return dir;
}

/** Run the compiled CLI (as a user would through bin/) without a TTY. */
export function cli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
  return execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), ...args], {
    reject: false,
    cwd: opts.cwd ?? ROOT,
    // Tests never reach a real kubectl (whatever is on PATH talks to no cluster of ours): a test that
    // needs one passes KUBECTL (the stand-in, test/kube); any other would fail loudly here.
    env: { NO_COLOR: undefined, FORCE_COLOR: undefined, KUBECTL: '/nonexistent/kubectl-not-allowed-in-tests', ...opts.env },
    timeout: 60_000,
  });
}
