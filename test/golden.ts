/** Golden files: compare with a saved output; UPDATE_GOLDEN=1 rewrites them on purpose. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function matchGolden(file: string, actual: string): Promise<void> {
  if (process.env.UPDATE_GOLDEN === '1' || (!existsSync(file) && process.env.CI !== 'true')) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, actual);
    return;
  }
  assert.ok(existsSync(file), `golden file ${file} is missing (run with UPDATE_GOLDEN=1 to create it)`);
  assert.equal(actual, await readFile(file, 'utf8'), `output differs from ${file} (UPDATE_GOLDEN=1 to accept)`);
}
