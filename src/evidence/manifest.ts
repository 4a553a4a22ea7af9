/**
 * The bundle manifest: what was captured, when, from what, and how each collector fared.
 * This is a contract shared by every capture path (local, Kubernetes, watch) and by `analyze`.
 */
import { inputError } from '../errors.js';

export const BUNDLE_SCHEMA = 'p99sleuth/bundle@1';

export type WindowName = 'baseline' | 'spike';
export type CollectorStatus = 'ok' | 'failed' | 'skipped' | 'not-enabled';
export const COLLECTOR_STATUSES: readonly CollectorStatus[] = ['ok', 'failed', 'skipped', 'not-enabled'];

/** ISO-8601 timestamps. */
export interface TimeWindow {
  start: string;
  end: string;
}

export interface CollectorEntry {
  /** e.g. `pprof.cpu`, `pprof.mutex`, `prometheus.latency`, `prometheus.runtime`. */
  name: string;
  /** The window the artifacts describe; absent for collectors spanning both (e.g. the latency series). */
  window?: WindowName;
  status: CollectorStatus;
  /** Why it failed / was skipped, or a note. */
  message?: string;
  /** Paths relative to the bundle directory. */
  artifacts: string[];
  startedAt?: string;
  durationMs?: number;
  /** Collector-specific facts needed to interpret artifacts (queries, seconds, sample rate…). */
  meta?: Record<string, unknown>;
}

export interface TargetDescription {
  kind: 'local' | 'kubernetes' | 'fixture' | 'prometheus';
  /** Human description, e.g. `pid 4242 (checkout)` or `pod shop/checkout-7d9f…`. */
  description: string;
  pid?: number;
  /** Endpoint URLs with credentials stripped. */
  pprofUrl?: string;
  prometheusUrl?: string;
  selector?: string;
  latencyMetric?: string;
  /** TCP ports the target listens on: its own sockets among host-wide kernel evidence. */
  ports?: number[];
  [key: string]: unknown;
}

export interface Manifest {
  schema: typeof BUNDLE_SCHEMA;
  tool: { name: 'p99sleuth'; version: string };
  createdAt: string;
  /** False when the capture was interrupted or a collector could not finish; the bundle still analyses. */
  complete: boolean;
  incompleteReason?: string;
  target: TargetDescription;
  windows: { baseline?: TimeWindow; spike: TimeWindow };
  collectors: CollectorEntry[];
}

/** Validate parsed JSON as a manifest, with errors that name the field and what to do. */
export function validateManifest(raw: unknown, file: string): Manifest {
  const bad = (what: string) =>
    inputError(`${file}: ${what}`, 're-capture the bundle, or fix manifest.json by hand (format: README "Evidence bundle")');
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.schema === undefined) throw bad('no "schema" field: this is not a p99sleuth bundle manifest');
  if (m.schema !== BUNDLE_SCHEMA) {
    throw inputError(
      `${file}: unknown bundle schema "${String(m.schema)}" (this p99sleuth reads ${BUNDLE_SCHEMA})`,
      'analyse it with the p99sleuth version that wrote it, or upgrade p99sleuth',
    );
  }
  const windows = m.windows as Manifest['windows'] | undefined;
  if (!windows || typeof windows !== 'object' || !isWindow(windows.spike)) {
    throw bad('"windows.spike" must be {start, end} with ISO timestamps');
  }
  if (windows.baseline !== undefined && !isWindow(windows.baseline)) {
    throw bad('"windows.baseline" must be {start, end} with ISO timestamps');
  }
  if (!Array.isArray(m.collectors)) throw bad('"collectors" must be an array');
  m.collectors.forEach((c, i) => {
    const e = c as CollectorEntry;
    if (!e || typeof e.name !== 'string') throw bad(`collectors[${i}] has no "name"`);
    if (!COLLECTOR_STATUSES.includes(e.status)) {
      throw bad(`collectors[${i}] (${e.name}) has status "${String(e.status)}"; expected ${COLLECTOR_STATUSES.join('|')}`);
    }
    if (!Array.isArray(e.artifacts) || e.artifacts.some((a) => typeof a !== 'string' || !isSafeRelative(a))) {
      throw bad(`collectors[${i}] (${e.name}) "artifacts" must be relative paths inside the bundle`);
    }
  });
  if (!m.target || typeof m.target !== 'object' || Array.isArray(m.target)) throw bad('"target" must be an object');
  // The rules read these fields (ports into a Set, the latency metric into queries): wrong types are refused here.
  const t = m.target as Record<string, unknown>;
  for (const k of ['description', 'pprofUrl', 'prometheusUrl', 'selector', 'latencyMetric'] as const) {
    if (t[k] !== undefined && typeof t[k] !== 'string') throw bad(`"target.${k}" must be a string`);
  }
  if (t.pid !== undefined && !(Number.isInteger(t.pid) && (t.pid as number) > 0)) throw bad('"target.pid" must be a process id');
  if (t.ports !== undefined && !(Array.isArray(t.ports) && t.ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535))) {
    throw bad('"target.ports" must be an array of TCP port numbers');
  }
  return {
    ...(m as unknown as Manifest),
    complete: m.complete !== false,
  };
}

function isWindow(w: unknown): w is TimeWindow {
  if (!w || typeof w !== 'object') return false;
  const { start, end } = w as TimeWindow;
  return typeof start === 'string' && typeof end === 'string' && !isNaN(Date.parse(start)) && !isNaN(Date.parse(end));
}

/** Artifacts must stay inside the bundle: no absolute paths, no `..`. */
export function isSafeRelative(p: string): boolean {
  return p.length > 0 && !p.startsWith('/') && !p.split(/[\\/]/).includes('..');
}

export const windowSeconds = (w: TimeWindow) => (Date.parse(w.end) - Date.parse(w.start)) / 1000;
