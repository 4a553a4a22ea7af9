/** The cap on spike bundles kept by one `watch`: only bundles it created itself are ever deleted. */
import { rm } from 'node:fs/promises';

/** Remove the oldest of `created` (oldest first) beyond `max`; returns what was removed, mutating `created`. */
export async function pruneOldest(created: string[], max: number): Promise<string[]> {
  const removed: string[] = [];
  while (created.length > max) {
    const dir = created.shift()!;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
