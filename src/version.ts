/** The tool version, read once from package.json so there is a single source of truth. */
import { readFileSync } from 'node:fs';
import { packagePath } from './util/paths.js';

export const VERSION: string = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
