/**
 * Lab control for fixtures, the accuracy suite and benchmarks: build and start the lab service,
 * Prometheus and node_exporter on loopback, drive open-loop load, switch faults. Every process is
 * tracked by PID and stopped by `stop()`; callers use try/finally so failures clean up too.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAB_DIR = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(LAB_DIR, 'bin');

export const PORTS = { api: 18080, control: 18081, downstream: 18082, downstreamControl: 18083, prometheus: 19090 };
export const PROM_URL = `http://127.0.0.1:${PORTS.prometheus}`;
export const PPROF_URL = `http://127.0.0.1:${PORTS.api}/debug/pprof`;

const log = (msg: string) => process.stderr.write(`lab: ${msg}\n`);

/**
 * Everything started is registered here until stopped, so that Ctrl-C or SIGTERM on a lab script
 * still stops it (a plain signal would end Node without running any finally block).
 */
const running = new Set<() => Promise<void>>();
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    log(`${sig}: stopping everything the lab started`);
    void Promise.allSettled([...running].map((stop) => stop())).then(() => process.exit(130));
  });
}
function track(stop: () => Promise<void>): () => Promise<void> {
  const once = async () => {
    running.delete(once);
    await stop();
  };
  running.add(once);
  return once;
}

/** Install Debian packages / Go modules if missing and build the lab binaries. */
export async function prepare(): Promise<void> {
  await execa('bash', [path.join(LAB_DIR, 'install-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  await execa('bash', [path.join(LAB_DIR, 'build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export class Prometheus {
  readonly stop: () => Promise<void>;

  private constructor(readonly dir: string) {
    this.stop = track(async () => {
      await execa('bash', [path.join(LAB_DIR, 'prometheus.sh'), 'stop', dir], { stdio: ['ignore', 'inherit', 'inherit'], reject: false });
      await rm(dir, { recursive: true, force: true });
    });
  }

  static async start(): Promise<Prometheus> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p99sleuth-prom-'));
    const p = new Prometheus(dir); // registered first: a half-started Prometheus is stopped too
    try {
      await execa('bash', [path.join(LAB_DIR, 'prometheus.sh'), 'start', dir, `127.0.0.1:${PORTS.api}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }
}

export interface LabOptions {
  runtimeMetrics?: boolean;
  profileRates?: boolean;
  /** More labsvc flags for the API process (--journal=DIR, --extra-addr=…, --listen-backlog=N). */
  extraArgs?: string[];
}

/** Faults that live in the dependency's process rather than the API's. */
const DOWNSTREAM_FAULTS = new Set(['downstream-slow']);

/**
 * The API and its downstream dependency as two processes, as in production: a CPU-starved API does
 * not also starve its dependency.
 */
export class LabService {
  readonly stop: () => Promise<void>;

  private constructor(
    private readonly api: ResultPromise,
    private readonly downstream: ResultPromise,
  ) {
    this.stop = track(async () => {
      api.kill('SIGTERM');
      downstream.kill('SIGTERM');
      await Promise.all([api, downstream]);
    });
  }

  get pid(): number {
    return this.api.pid!;
  }

  static async start(o: LabOptions = {}): Promise<LabService> {
    const spawn = (args: string[]) => {
      const proc = execa(path.join(BIN, 'labsvc'), args, { stdio: ['ignore', 'ignore', 'pipe'], buffer: false, reject: false, forceKillAfterDelay: 3000 });
      proc.stderr?.resume(); // drain, so the service never blocks on a full pipe
      return proc;
    };
    const downstream = spawn(['--role=downstream', `--downstream-addr=127.0.0.1:${PORTS.downstream}`, `--control-addr=127.0.0.1:${PORTS.downstreamControl}`]);
    const args = ['--role=api', `--addr=127.0.0.1:${PORTS.api}`, `--control-addr=127.0.0.1:${PORTS.control}`, `--downstream-addr=127.0.0.1:${PORTS.downstream}`];
    if (o.runtimeMetrics) args.push('--runtime-metrics');
    if (o.profileRates === false) args.push('--profile-rates=false');
    args.push(...(o.extraArgs ?? []));
    const api = spawn(args);
    const lab = new LabService(api, downstream);
    try {
      await waitFor(`http://127.0.0.1:${PORTS.downstreamControl}/fault`, 15000);
      await waitFor(`http://127.0.0.1:${PORTS.api}/metrics`, 15000);
    } catch (err) {
      await lab.stop();
      throw err;
    }
    log(`labsvc pid ${lab.pid} up (dependency pid ${downstream.pid})${o.runtimeMetrics ? ' (runtime metrics)' : ''}`);
    return lab;
  }

  async fault(name: string, on: boolean): Promise<void> {
    const port = DOWNSTREAM_FAULTS.has(name) ? PORTS.downstreamControl : PORTS.control;
    const res = await fetch(`http://127.0.0.1:${port}/fault?name=${encodeURIComponent(name)}&on=${on ? 1 : 0}`, { method: 'POST' });
    if (!res.ok) throw new Error(`fault ${name}: HTTP ${res.status} ${await res.text()}`);
  }

}

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  [k: string]: number;
}

/** Open-loop load for a bounded time; resolves with the client-side summary. */
export function load(rate: number, seconds: number): { done: Promise<LoadResult>; stop: () => void } {
  const proc = execa(path.join(BIN, 'loadgen'), [`--url=http://127.0.0.1:${PORTS.api}/api/checkout`, `--rate=${rate}`, `--duration=${seconds}s`, `--arrivals=poisson`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    reject: false,
    timeout: (seconds + 30) * 1000,
    forceKillAfterDelay: 3000,
  });
  const untrack = track(async () => {
    proc.kill('SIGTERM');
    await proc;
  });
  const done = proc.then((r) => {
    void untrack();
    return JSON.parse(String(r.stdout).trim().split('\n').pop() || '{}') as LoadResult;
  });
  return { done, stop: () => proc.kill('SIGTERM') };
}

export async function waitFor(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
    await sleep(200);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process started by a lab script, stopped with everything else on Ctrl-C. */
export function trackProcess(proc: ResultPromise): void {
  const untrack = track(async () => {
    proc.kill('SIGTERM');
    await proc.catch(() => undefined);
  });
  void proc.finally(() => untrack());
}
