/**
 * The one way p99sleuth talks to a cluster: the user's own kubectl (so their kubeconfig, auth
 * plugins and context apply unchanged), always with an argument array, never through a shell.
 * kubectl's failures are classified here once, from its stderr, into SleuthErrors with a next step.
 */
import { execa, type ResultPromise } from 'execa';
import { SleuthError } from '../../errors.js';
import { contextName } from './names.js';

export interface KubectlOptions {
  /** The kubectl binary (--kubectl or KUBECTL; default kubectl on PATH). */
  kubectl: string;
  context?: string;
  kubeconfig?: string;
}

export interface RunOptions {
  namespace?: string;
  /** Written to kubectl's stdin (e.g. a manifest for `create -f -`). */
  input?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Exit codes that are answers, not failures (`auth can-i` exits 1 for "no"). */
  okExitCodes?: number[];
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class Kubectl {
  constructor(readonly o: KubectlOptions) {
    if (o.context !== undefined) contextName(o.context);
  }

  /** kubectl's global flags first, then the namespace, then the command. */
  argv(args: string[], namespace?: string): string[] {
    return [
      ...(this.o.context ? ['--context', this.o.context] : []),
      ...(this.o.kubeconfig ? ['--kubeconfig', this.o.kubeconfig] : []),
      ...(namespace ? ['--namespace', namespace] : []),
      ...args,
    ];
  }

  async run(args: string[], ro: RunOptions = {}): Promise<KubectlResult> {
    const r = await execa(this.o.kubectl, this.argv(args, ro.namespace), {
      reject: false,
      input: ro.input,
      stdin: ro.input === undefined ? 'ignore' : undefined,
      timeout: ro.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      cancelSignal: ro.signal,
      forceKillAfterDelay: 2000,
      maxBuffer: 256 * 1024 * 1024,
    });
    const stdout = String(r.stdout ?? '');
    const stderr = String(r.stderr ?? '');
    const what = `kubectl ${args.slice(0, 3).join(' ')}`;
    if (r.isCanceled) throw new SleuthError('interrupted', `${what}: interrupted`);
    if (r.timedOut) throw new SleuthError('unavailable', `${what}: no answer within ${Math.round((ro.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`, 'is the API server reachable? try `kubectl get --raw /readyz`');
    const code = (r.cause as NodeJS.ErrnoException | undefined)?.code;
    if (r.exitCode === undefined && typeof code === 'string') throw spawnError(this.o.kubectl, code);
    const exitCode = r.exitCode ?? -1;
    if (exitCode !== 0 && !(ro.okExitCodes ?? []).includes(exitCode)) throw kubectlError(what, stderr, exitCode);
    return { stdout, stderr, exitCode };
  }

  /** `kubectl … -o json`, parsed. */
  async json<T>(args: string[], ro: RunOptions = {}): Promise<T> {
    const r = await this.run([...args, '-o', 'json'], ro);
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new SleuthError('unavailable', `kubectl ${args.slice(0, 3).join(' ')}: the answer is not JSON (${r.stdout.slice(0, 80).trim() || 'empty'})`, 'is --kubectl really kubectl?');
    }
  }

  /** A long-running kubectl (port-forward, exec of a tracer), output piped, killed with the signal. */
  spawn(args: string[], namespace: string | undefined, o: { signal?: AbortSignal; timeoutMs?: number } = {}): ResultPromise<{ reject: false; buffer: false; stdin: 'ignore' }> {
    return execa(this.o.kubectl, this.argv(args, namespace), {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      cancelSignal: o.signal,
      timeout: o.timeoutMs,
      forceKillAfterDelay: 2000,
    } as { reject: false; buffer: false; stdin: 'ignore' });
  }
}

export function spawnError(kubectl: string, code: string): SleuthError {
  if (code === 'ENOENT') return new SleuthError('unavailable', `${kubectl} is not installed or not on PATH`, 'install kubectl, or pass --kubectl PATH (or set KUBECTL)');
  return new SleuthError('unavailable', `cannot start ${kubectl} (${code})`, 'pass --kubectl PATH to an executable kubectl');
}

/** kubectl's stderr → what went wrong and what to do. The patterns are kubectl's own messages. */
export function kubectlError(what: string, stderr: string, exitCode: number): SleuthError {
  const line = stderr.split('\n').map((l) => l.trim()).filter(Boolean).filter((l) => !/^(W|I)\d{4} /.test(l)).slice(-2).join(' | ') || `exit code ${exitCode}`;
  if (/\(Forbidden\)|is forbidden/.test(stderr)) {
    return new SleuthError('unavailable', `${what}: forbidden: ${line}`, 'your Kubernetes user lacks a permission p99sleuth needs; run `p99sleuth doctor` and see README "Kubernetes permissions"');
  }
  if (/\(NotFound\)|not found/.test(stderr)) return new SleuthError('usage', `${what}: ${line}`, 'check the name and the namespace (-n); `kubectl get pods -n NAMESPACE` lists what exists');
  if (/\(Unauthorized\)|You must be logged in|provide credentials/.test(stderr)) {
    return new SleuthError('unavailable', `${what}: not authenticated: ${line}`, 'log in to the cluster again (your kubeconfig credentials were refused)');
  }
  if (/context .* does not exist|no context exists|current-context is not set|invalid configuration/i.test(stderr)) {
    return new SleuthError('usage', `${what}: ${line}`, 'choose a context with --context (see `kubectl config get-contexts`) or --kubeconfig');
  }
  if (/Unable to connect to the server|connection refused|i\/o timeout|no such host|deadline exceeded|the server is currently unable|Service Unavailable|TLS handshake timeout/i.test(stderr)) {
    return new SleuthError('unavailable', `${what}: the API server cannot be reached: ${line}`, 'check the cluster is up and your context (`kubectl cluster-info`)');
  }
  return new SleuthError('unavailable', `${what} failed: ${line}`);
}
