/**
 * The evidence bundle on disk: a directory with manifest.json and the raw artifacts as captured.
 * Writing is atomic at the directory level: artifacts go into a hidden sibling directory that is
 * renamed into place when the manifest is written, so a reader never sees a half-written bundle.
 * An interrupted capture still finishes the bundle, marked `complete: false`.
 */
import { mkdir, readFile, rename, rm, rmdir, stat, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { SleuthError, inputError } from '../errors.js';
import { BUNDLE_SCHEMA, isSafeRelative, validateManifest, type CollectorEntry, type Manifest } from './manifest.js';
import { VERSION } from '../version.js';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

export class BundleWriter {
  readonly collectors: CollectorEntry[] = [];
  private finished = false;

  private constructor(
    readonly finalDir: string,
    readonly workDir: string,
  ) {}

  /** Start a bundle that will appear at `dir` when finished. `dir` must not exist or be empty. */
  static async create(dir: string): Promise<BundleWriter> {
    const finalDir = path.resolve(dir);
    const existing = await readdir(finalDir).catch(() => null);
    if (existing && existing.length > 0) {
      throw new SleuthError('usage', `output directory ${dir} already exists and is not empty`, 'pass a new --out directory');
    }
    const workDir = path.join(path.dirname(finalDir), `.${path.basename(finalDir)}.partial-${process.pid}`);
    try {
      await mkdir(workDir, { recursive: true, mode: DIR_MODE });
    } catch (err) {
      throw new SleuthError('io', `cannot create ${workDir}: ${(err as Error).message}`, 'choose a writable --out directory', { cause: err });
    }
    return new BundleWriter(finalDir, workDir);
  }

  /** Write one artifact (relative path) atomically; returns the relative path for the manifest. */
  async writeArtifact(rel: string, data: string | Uint8Array): Promise<string> {
    if (!isSafeRelative(rel)) throw new SleuthError('internal', `artifact path escapes the bundle: ${rel}`);
    const file = path.join(this.workDir, rel);
    await mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
    const tmp = `${file}.tmp`;
    try {
      await writeFile(tmp, data, { mode: FILE_MODE });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new SleuthError('io', `cannot write ${file}: ${(err as Error).message}`, 'check free space and permissions of --out', { cause: err });
    }
    return rel;
  }

  record(entry: CollectorEntry): void {
    this.collectors.push(entry);
  }

  /** Write manifest.json and move the bundle into place. Once it has succeeded, later calls do nothing. */
  async finish(m: Omit<Manifest, 'schema' | 'tool' | 'createdAt' | 'collectors'>): Promise<string> {
    if (this.finished) return this.finalDir;
    const manifest: Manifest = {
      schema: BUNDLE_SCHEMA,
      tool: { name: 'p99sleuth', version: VERSION },
      createdAt: new Date().toISOString(),
      ...m,
      collectors: this.collectors,
    };
    await this.writeArtifact('manifest.json', JSON.stringify(manifest, null, 2) + '\n');
    // An empty directory given as --out is replaced; rmdir refuses anything that gained files meanwhile.
    await rmdir(this.finalDir).catch(() => undefined);
    await mkdir(path.dirname(this.finalDir), { recursive: true, mode: DIR_MODE });
    await rename(this.workDir, this.finalDir);
    this.finished = true;
    return this.finalDir;
  }

  /**
   * When even the manifest cannot be written (a full disk), the captured files are still moved to
   * where the user asked for them rather than left in a hidden directory; returns where they are.
   */
  async keepWithoutManifest(): Promise<string> {
    if (this.finished) return this.finalDir;
    try {
      await rmdir(this.finalDir).catch(() => undefined);
      await rename(this.workDir, this.finalDir);
      this.finished = true;
      return this.finalDir;
    } catch {
      return this.workDir;
    }
  }
}

/** A bundle opened for reading. */
export interface Bundle {
  dir: string;
  manifest: Manifest;
  /** Read an artifact; an unusable path or a missing file is an input error naming it. */
  read(rel: string): Promise<Buffer>;
}

export async function openBundle(dir: string): Promise<Bundle> {
  const st = await stat(dir).catch(() => null);
  if (!st) throw inputError(`${dir}: no such directory`, 'pass the path of an evidence bundle directory');
  if (!st.isDirectory()) {
    throw inputError(`${dir}: not a directory`, 'pass a bundle directory (the one containing manifest.json)');
  }
  const manifestPath = path.join(dir, 'manifest.json');
  const text = await readFile(manifestPath, 'utf8').catch(() => null);
  if (text === null) {
    throw inputError(`${manifestPath}: missing`, 'this directory is not an evidence bundle; pass the directory that contains manifest.json');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw inputError(`${manifestPath}: not valid JSON (${(err as Error).message})`, 're-capture the bundle or repair manifest.json');
  }
  const manifest = validateManifest(raw, manifestPath);
  return {
    dir,
    manifest,
    async read(rel) {
      if (!isSafeRelative(rel)) throw inputError(`${manifestPath}: artifact path "${rel}" escapes the bundle`);
      const file = path.join(dir, rel);
      try {
        return await readFile(file);
      } catch {
        throw inputError(`${file}: artifact listed in manifest.json is missing`, 're-capture the bundle, or remove the entry from manifest.json');
      }
    },
  };
}
