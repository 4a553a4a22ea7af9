/** What the capture needs from any profile store; one implementation per store (parca.ts, pyroscope.ts). */
import type { StoreProfileType } from './types.js';

/** Milliseconds since 1970, end exclusive. */
export interface Range {
  startMs: number;
  endMs: number;
}

export interface StoreClient {
  /** The profile types the store holds over the range. */
  profileTypes(r: Range, signal?: AbortSignal): Promise<StoreProfileType[]>;
  /** Every profile of the type matching the selector in the range, merged; raw pprof (maybe gzipped), empty when none. */
  merged(type: StoreProfileType, selector: string, r: Range, signal?: AbortSignal): Promise<Uint8Array>;
  /** Mean number of profiles each matching series holds in the range (0 when none): divides a merged gauge into a mean. */
  snapshotsPerSeries(type: StoreProfileType, selector: string, r: Range, signal?: AbortSignal): Promise<number>;
  close(): void;
}

/** `{a="b"}` plus one more matcher. */
export function withMatcher(selector: string, matcher: string): string {
  const body = selector.trim().replace(/^\{|\}$/g, '').trim().replace(/,\s*$/, '');
  return `{${body ? `${body},` : ''}${matcher}}`;
}
