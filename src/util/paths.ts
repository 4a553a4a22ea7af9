/** Locate files shipped with the package, whether running from src/ (tsx) or dist/src/ (compiled). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('p99sleuth: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return (root = dir);
}

export const packagePath = (...parts: string[]) => path.join(packageRoot(), ...parts);
