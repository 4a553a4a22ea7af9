/**
 * Fixture tool and loader for procfs snapshots kept as a directory tree (DIR/<key>).
 *   node --import tsx test/sources/procfs/snapshot.ts PID DIR
 * writes readProcfs(PID) into DIR and the capture time (epoch ms) into DIR.at.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { localReader, readProcfs } from '../../../src/sources/procfs/capture.js';

export const SAFE_KEY = /^(?!.*(^|\/)\.\.?(\/|$))[a-z0-9_./-]+$/;

export async function writeSnapshot(dir: string, files: Record<string, string>): Promise<void> {
  for (const [key, text] of Object.entries(files)) {
    if (!SAFE_KEY.test(key)) throw new Error(`unsafe key ${key}`);
    await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
    await writeFile(path.join(dir, key), text);
  }
}

export async function loadSnapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out[path.relative(dir, full).split(path.sep).join('/')] = await readFile(full, 'utf8');
  }
  return out;
}

/** Window length of a scenario from its before.at/after.at files. */
export async function windowSeconds(scenarioDir: string): Promise<number> {
  const at = async (w: string) => Number((await readFile(path.join(scenarioDir, `${w}.at`), 'utf8')).trim());
  return ((await at('after')) - (await at('before'))) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [pid, dir] = process.argv.slice(2);
  if (!pid || !dir) throw new Error('usage: snapshot.ts PID DIR');
  const at = Date.now();
  await writeSnapshot(dir, await readProcfs(Number(pid), localReader()));
  await writeFile(`${dir.replace(/\/+$/, '')}.at`, `${at}\n`);
}
