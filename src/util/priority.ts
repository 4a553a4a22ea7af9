/**
 * CPU priority of what p99sleuth runs beside the service it observes: on the target's own machine
 * every CPU-second we take can show up in the very P99 being measured (bench/observer.ts).
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';

/** Lower a process we started (bpftrace); failing is harmless, it only runs less politely. */
export function lowPriority(pid: number, nice = 19): void {
  try {
    os.setPriority(pid, nice);
  } catch {
    /* not permitted or already gone */
  }
}

/**
 * Lower this whole process. Linux nice values are per thread, so every existing thread (V8's and
 * libuv's helpers included) is lowered; threads created later inherit it from their creator.
 */
export function yieldCpu(nice = 10): void {
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    /* not Linux: the main thread only */
  }
  for (const tid of tids.length ? tids.map(Number) : [0]) lowPriority(tid, nice);
}
