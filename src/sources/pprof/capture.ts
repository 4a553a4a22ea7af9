/**
 * Fetching profiles from a Go service's net/http/pprof. Each profile kind is one collector; a
 * failure of one never stops the others. Every fetched profile is parsed before it is kept, so a
 * bundle never holds garbage marked "ok".
 */
import type { BundleWriter } from '../../evidence/bundle.js';
import type { CollectorEntry, WindowName } from '../../evidence/manifest.js';
import type { ProfileKind } from '../../evidence/model.js';
import { SleuthError, describe } from '../../errors.js';
import { parsePprof } from './parse.js';
import { redactUrl } from '../../util/redact.js';
import { httpRequest } from '../../util/http.js';

export interface PprofTarget {
  /** Base URL of the pprof handlers, e.g. http://127.0.0.1:6060/debug/pprof */
  baseUrl: string;
  headers?: Record<string, string>;
  ca?: string | Buffer;
  insecure?: boolean;
}

/** Fetch one profile. `seconds` makes CPU profiles run and delta profiles (mutex, block, allocs) accumulate. */
export async function fetchProfile(t: PprofTarget, kind: ProfileKind, seconds: number | undefined, signal?: AbortSignal): Promise<Uint8Array> {
  const path = kind === 'cpu' ? 'profile' : kind;
  const url = new URL(`${t.baseUrl.replace(/\/+$/, '')}/${path}`);
  if (seconds !== undefined) url.searchParams.set('seconds', String(seconds));
  const shown = redactUrl(url.toString());
  // Allow the server the capture time plus a margin before calling it dead.
  const res = await httpRequest(url.toString(), { headers: t.headers, ca: t.ca, insecure: t.insecure, signal, timeoutMs: ((seconds ?? 0) + 15) * 1000 }).catch((err: unknown) => {
    if (err instanceof SleuthError && err.kind === 'unavailable') err.hint ??= 'check the pprof URL (--pprof) and that the service imports net/http/pprof';
    throw err;
  });
  if (res.status !== 200) {
    const text = res.body.subarray(0, 300).toString('utf8').trim();
    const hint = res.status === 400 && /WriteTimeout|exceeds/i.test(text)
      ? 'the server\'s WriteTimeout is shorter than the capture: lower --duration'
      : res.status === 404 ? 'the service does not serve this profile: check --pprof (path prefix) and that net/http/pprof is registered' : undefined;
    throw new SleuthError('unavailable', `${shown}: HTTP ${res.status}${text ? ` — ${text}` : ''}`, hint);
  }
  parsePprof(res.body, shown); // throws an input error naming the URL when it is not a profile
  return res.body;
}

export interface WindowCapture {
  window: WindowName;
  seconds: number;
  /** Goroutine snapshots spread over the window (their average describes the window). */
  goroutineSnapshots: number;
  kinds: ProfileKind[];
}

/** Told when a collector starts and ends (for progress display). */
export interface CollectorHooks {
  start?(name: string): void;
  done?(entry: CollectorEntry): void;
}

/** Capture all profile kinds of one window concurrently; records one collector entry per kind. */
export async function capturePprofWindow(t: PprofTarget, w: WindowCapture, writer: BundleWriter, signal?: AbortSignal, hooks: CollectorHooks = {}): Promise<void> {
  await Promise.all(w.kinds.map((kind) => captureKind(t, kind, w, writer, signal, hooks)));
}

async function captureKind(t: PprofTarget, kind: ProfileKind, w: WindowCapture, writer: BundleWriter, signal: AbortSignal | undefined, hooks: CollectorHooks): Promise<void> {
  const started = Date.now();
  const entry: CollectorEntry = { name: `pprof.${kind}`, window: w.window, status: 'ok', artifacts: [], startedAt: new Date(started).toISOString() };
  hooks.start?.(`${entry.name} (${w.window})`);
  try {
    if (kind === 'goroutine') {
      const n = Math.max(1, w.goroutineSnapshots);
      for (let i = 0; i < n; i++) {
        if (i > 0) await sleep((w.seconds * 1000) / n, signal);
        const bytes = await fetchProfile(t, kind, undefined, signal);
        entry.artifacts.push(await writer.writeArtifact(`pprof/${w.window}/goroutine-${i}.pb.gz`, bytes));
      }
      entry.meta = { snapshots: n };
    } else {
      const seconds = kind === 'heap' ? undefined : w.seconds;
      const bytes = await fetchProfile(t, kind, seconds, signal);
      entry.artifacts.push(await writer.writeArtifact(`pprof/${w.window}/${kind}.pb.gz`, bytes));
      entry.meta = { seconds };
      if ((kind === 'mutex' || kind === 'block') && isEmptyProfile(bytes)) {
        entry.status = 'not-enabled';
        entry.message = `no ${kind} samples: the service may not call runtime.${kind === 'mutex' ? 'SetMutexProfileFraction' : 'SetBlockProfileRate'} (or saw no contention at all)`;
      }
    }
  } catch (err) {
    entry.status = 'failed';
    entry.message = describe(err);
    if (err instanceof SleuthError && err.kind === 'interrupted') entry.message = 'interrupted';
  }
  entry.durationMs = Date.now() - started;
  writer.record(entry);
  hooks.done?.(entry);
}

function isEmptyProfile(bytes: Uint8Array): boolean {
  return parsePprof(bytes, 'profile').samples.length === 0;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SleuthError('interrupted', 'interrupted'));
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(new SleuthError('interrupted', 'interrupted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
