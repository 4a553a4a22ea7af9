/**
 * Progress of collectors on stderr: an ora spinner on a terminal, plain lines otherwise (CI logs,
 * pipes), nothing with --quiet. stdout is never touched.
 */
import ora, { type Ora } from 'ora';
import type { CollectorStatus } from '../evidence/manifest.js';

export interface Progress {
  start(name: string): void;
  done(name: string, status: CollectorStatus, message?: string): void;
  note(message: string): void;
  stop(): void;
}

const MARK: Record<CollectorStatus, string> = { ok: '✔', failed: '✖', skipped: '-', 'not-enabled': '○' };

export function makeProgress(opts: { quiet?: boolean }): Progress {
  if (opts.quiet) return { start() {}, done() {}, note() {}, stop() {} };
  // ora loops forever under a 0-column pty (LAB-NOTES): only spin on a real, sized terminal.
  if (process.stderr.isTTY && (process.stderr.columns ?? 0) > 0) return spinner();
  const line = (s: string) => process.stderr.write(`p99sleuth: ${s}\n`);
  return {
    start: (name) => line(`… ${name}`),
    done: (name, status, message) => line(`${MARK[status]} ${name}${status === 'ok' ? '' : ` ${status}`}${message ? `: ${message}` : ''}`),
    note: line,
    stop() {},
  };
}

function spinner(): Progress {
  const active = new Set<string>();
  let sp: Ora | undefined;
  const text = () => `capturing ${[...active].join(', ')}`;
  const refresh = () => {
    if (active.size === 0) {
      sp?.stop();
      sp = undefined;
    } else if (sp) sp.text = text();
    else sp = ora({ text: text(), stream: process.stderr }).start();
  };
  const persist = (symbol: string, s: string) => {
    if (sp) sp.stopAndPersist({ symbol, text: s });
    else process.stderr.write(`${symbol} ${s}\n`);
    sp = undefined;
    refresh();
  };
  return {
    start(name) {
      active.add(name);
      refresh();
    },
    done(name, status, message) {
      active.delete(name);
      persist(MARK[status], `${name}${status === 'ok' ? '' : ` ${status}`}${message ? `: ${message}` : ''}`);
    },
    note: (s) => persist('ℹ', s),
    stop() {
      active.clear();
      sp?.stop();
      sp = undefined;
    },
  };
}
