/**
 * `kubectl port-forward` to a pod's pprof port on an ephemeral local port. The readiness line is
 * kubectl's own (`Forwarding from 127.0.0.1:PORT -> REMOTE`); output keeps being drained so kubectl
 * never blocks on a full pipe; the child is killed on stop, on error and with the abort signal.
 * If it dies mid-capture, `deathReason()` says why, for the collectors that then failed.
 */
import { SleuthError } from '../../errors.js';
import type { Kubectl } from './kubectl.js';
import { spawnError } from './kubectl.js';

export interface PortForward {
  localPort: number;
  /** Set once kubectl has exited or reported a lost connection. */
  deathReason(): string | undefined;
  stop(): Promise<void>;
}

const READY = /Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/;
// kubectl ≥ 1.23 logs a failed connection and, in newer versions, exits with "lost connection to pod".
const BROKEN = /lost connection to pod|an error occurred forwarding|error forwarding port|error upgrading connection|unable to forward port/i;

export async function startPortForward(k: Kubectl, namespace: string, pod: string, remotePort: number, o: { signal?: AbortSignal; readyTimeoutMs?: number } = {}): Promise<PortForward> {
  const child = k.spawn(['port-forward', '--address', '127.0.0.1', `pod/${pod}`, `:${remotePort}`], namespace, { signal: o.signal });
  let out = '';
  let err = '';
  let death: string | undefined;
  let exited = false;
  const lastLines = () => err.split('\n').map((l) => l.trim()).filter(Boolean).slice(-2).join(' | ');

  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SleuthError('unavailable', `kubectl port-forward pod/${pod} :${remotePort}: not ready after ${Math.round((o.readyTimeoutMs ?? 30_000) / 1000)} s${lastLines() ? `: ${lastLines()}` : ''}`, 'is the API server slow, or the pod not running?')), o.readyTimeoutMs ?? 30_000);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      // Keep only a tail: "Handling connection for N" is printed for every request.
      out = (out + d).slice(-4096);
      const m = READY.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr?.on('data', (d: string) => {
      err = (err + d).slice(-8192);
      if (!death && BROKEN.test(d)) death = `port-forward to pod/${pod}:${remotePort} broke: ${lastLines()}`;
    });
    child.then((r) => {
      exited = true;
      clearTimeout(timer);
      const code = (r.cause as NodeJS.ErrnoException | undefined)?.code;
      if (r.exitCode === undefined && !r.isCanceled && typeof code === 'string') return reject(spawnError(k.o.kubectl, code));
      death ??= `kubectl port-forward to pod/${pod}:${remotePort} exited${r.isCanceled ? ' (interrupted)' : ` (exit ${r.exitCode ?? r.signal})`}${lastLines() ? `: ${lastLines()}` : ''}`;
      reject(r.isCanceled ? new SleuthError('interrupted', 'port-forward interrupted') : new SleuthError('unavailable', death, /not running|Pending/i.test(err) ? 'the pod is not running' : 'check `kubectl port-forward` works for you and that the pod listens on --pprof-port'));
    });
  });

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    await child.catch(() => undefined);
  };
  try {
    const localPort = await ready;
    return { localPort, deathReason: () => death, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
