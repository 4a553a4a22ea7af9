/**
 * Last-resort cleanups for when the process must exit at once (a second Ctrl-C): each is synchronous,
 * bounded in time, and runs before process.exit. The normal paths clean up asynchronously in
 * `finally` blocks and unregister these; child processes started with execa die with us anyway.
 */
const pending = new Set<() => void>();

export function onEmergencyExit(fn: () => void): () => void {
  pending.add(fn);
  return () => pending.delete(fn);
}

export function runEmergencyCleanups(): void {
  for (const fn of [...pending]) {
    pending.delete(fn);
    try {
      fn();
    } catch {
      /* best effort: the others must still run */
    }
  }
}
