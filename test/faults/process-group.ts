/**
 * Running the built CLI as a shell runs a foreground job — in a process group of its own — so that
 * the process table shows whether anything it started outlived it. Shared by the fault tests of
 * `investigate` and `watch`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { ROOT } from '../helpers.js';

const CI = process.env.CI === 'true';
export const isRoot = process.getuid?.() === 0;

/** Skip without the prerequisite, except in CI where it must be there. */
export function need(t: TestContext, ok: boolean, what: string): boolean {
  if (ok) return true;
  if (CI) assert.fail(`prerequisite missing under CI=true: ${what}`);
  t.skip(`needs ${what}`);
  return false;
}

export const spawnCli = (args: string[], cwd = ROOT) =>
  execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), ...args], { reject: false, detached: true, cwd, env: { NO_COLOR: '1' }, timeout: 120_000 });

export interface Run {
  child: ReturnType<typeof spawnCli>;
  /** Resolves when stderr so far matches `re`. */
  stderrMatch(re: RegExp, ms?: number): Promise<void>;
  /** Resolves when stdout so far matches `re`. */
  stdoutMatch(re: RegExp, ms?: number): Promise<void>;
}

/** A growing text and the waiters for patterns in it. */
function watched(stream: NodeJS.ReadableStream, name: string) {
  let text = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  stream.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) if (w.re.test(text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  return (re: RegExp, ms = 30_000) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(text)) return resolve();
      const timer = setTimeout(() => reject(new Error(`${name} never matched ${re}:\n${text.slice(-3000)}`)), ms);
      waiters.push({ re, resolve: () => (clearTimeout(timer), resolve()) });
    });
}

/** Start the CLI in its own process group (pgid = its pid), as a shell would run a foreground job. */
export function start(args: string[], cwd?: string): Run {
  const child = spawnCli(args, cwd);
  return { child, stderrMatch: watched(child.stderr!, 'stderr'), stdoutMatch: watched(child.stdout!, 'stdout') };
}

/**
 * Live processes whose process group is `pgid`, from /proc/<pid>/stat, with their command names.
 * A zombie has ended: only its exit status waits for init (slow to reap on this machine).
 */
export function groupMembers(pgid: number): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' '); // state, ppid, pgrp, ...
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Nothing the run started may be left once it exited (children get a moment to be reaped). */
export async function assertNoneLeft(pgid: number): Promise<void> {
  for (let i = 0; i < 20 && groupMembers(pgid).length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(groupMembers(pgid), [], `processes left in the run's process group ${pgid}`);
}

/** A running bpftrace of the group that traces a script (not the `--version` probe before them). */
export async function waitForTracer(pgid: number, ms = 30_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = groupMembers(pgid).find((x) => x.comm === 'bpftrace' && /\.bt\0/.test(cmdline(x.pid)));
    if (p) return p.pid;
    if (Date.now() > deadline) throw new Error(`no bpftrace script started by ${pgid}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const manifestOf = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
export type Coll = { name: string; status: string; message?: string; artifacts: string[] };
export const collector = (m: { collectors: Coll[] }, name: string) => m.collectors.find((c) => c.name === name)!;
