/**
 * Reaching a process on this machine: validate the PID, check it is a Go program, and find its
 * pprof endpoint among the TCP ports it listens on. Reads /proc only.
 */
import { open, readFile, readdir, readlink } from 'node:fs/promises';
import { SleuthError, usageError } from '../errors.js';
import { httpRequest } from '../util/http.js';

export interface LocalProcess {
  pid: number;
  comm: string;
  /** TCP ports the process listens on (IPv4 and IPv6). */
  listenPorts: number[];
}

export function parsePid(text: string): number {
  if (!/^[1-9]\d{0,9}$/.test(text.trim())) throw usageError(`--pid ${JSON.stringify(text)} is not a process id`, 'pass the numeric PID of the Go service (see `pgrep -f NAME`)');
  return Number(text);
}

export async function inspectProcess(pid: number, procRoot = '/proc'): Promise<LocalProcess> {
  const comm = (await readFile(`${procRoot}/${pid}/comm`, 'utf8').catch(() => null))?.trim();
  if (comm === undefined) throw usageError(`no process with PID ${pid}`, 'check the PID (`pgrep -f NAME`); the process may have exited');
  const go = await isGoBinary(`${procRoot}/${pid}/exe`);
  if (go === false) throw usageError(`PID ${pid} (${comm}) is not a Go program: its executable has no Go build information`, 'p99sleuth investigates Go services; pass the PID of the Go process');
  return { pid, comm, listenPorts: await listeningPorts(pid, procRoot) };
}

const GO_BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

/**
 * Every Go binary since 1.13 carries a `.go.buildinfo` blob starting with this magic; scanning for it
 * works for stripped binaries too. Undefined when the executable cannot be read (another user's process).
 */
export async function isGoBinary(exe: string): Promise<boolean | undefined> {
  const fh = await open(exe, 'r').catch(() => null);
  if (!fh) return undefined;
  try {
    const chunk = Buffer.alloc(4 << 20);
    let pos = 0;
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) return false;
      const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      if (window.includes(GO_BUILDINFO_MAGIC)) return true;
      carry = window.subarray(window.length - GO_BUILDINFO_MAGIC.length);
      pos += bytesRead;
      if (pos > 512 << 20) return false; // no Go binary is this large before its build info
    }
  } finally {
    await fh.close();
  }
}

/** Ports in LISTEN state whose socket inode is one of the process's open file descriptors. */
export async function listeningPorts(pid: number, procRoot = '/proc'): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`${procRoot}/${pid}/fd`).catch(() => [] as string[])) {
    const link = await readlink(`${procRoot}/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]);
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`${procRoot}/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const e of parseProcNetTcp(text)) if (e.state === 'LISTEN' && inodes.has(e.inode)) ports.add(e.port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** /proc/net/tcp rows: `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode`. */
export function parseProcNetTcp(text: string): Array<{ port: number; state: 'LISTEN' | 'OTHER'; inode: string }> {
  const out: Array<{ port: number; state: 'LISTEN' | 'OTHER'; inode: string }> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const port = parseInt(f[1].split(':')[1] ?? '', 16);
    if (!Number.isFinite(port)) continue;
    out.push({ port, state: f[3] === '0A' ? 'LISTEN' : 'OTHER', inode: f[9] });
  }
  return out;
}

/** Whether an answer is net/http/pprof's index page (what `/debug/pprof/` serves). */
export function isPprofIndex(status: number, body: Buffer): boolean {
  return status === 200 && /goroutine|Types of profiles available/.test(body.toString('utf8'));
}

/** The first listening port that serves net/http/pprof's index page. */
export async function findPprof(ports: number[], signal?: AbortSignal): Promise<string | undefined> {
  for (const port of ports) {
    const base = `http://127.0.0.1:${port}/debug/pprof`;
    const res = await httpRequest(`${base}/`, { timeoutMs: 2000, signal, maxBytes: 1 << 20 }).catch(() => null);
    if (res && isPprofIndex(res.status, res.body)) return base;
  }
  return undefined;
}

export function notFoundPprof(p: LocalProcess): SleuthError {
  return new SleuthError(
    'unavailable',
    `no net/http/pprof endpoint found on the ports PID ${p.pid} (${p.comm}) listens on (${p.listenPorts.join(', ') || 'none'})`,
    'pass --pprof http://HOST:PORT/debug/pprof, or import _ "net/http/pprof" in the service',
  );
}
