/**
 * SIGINT/SIGTERM for a long-running command, the same everywhere: the first signal aborts the work
 * (which then cleans up and keeps what it has), the second leaves at once — after the synchronous
 * emergency cleanups (deleting a node pod) — with exit 130.
 */
import { setMaxListeners } from 'node:events';
import { runEmergencyCleanups } from '../util/cleanup.js';
import { EXIT } from './exit.js';

export async function withInterrupts<T>(body: (signal: AbortSignal) => Promise<T>, say: (sig: NodeJS.Signals) => string): Promise<T> {
  const ac = new AbortController();
  // Every concurrent request listens on the one signal; more than Node's default of 10 is expected.
  setMaxListeners(200, ac.signal);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      runEmergencyCleanups();
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(`\np99sleuth: ${sig}: ${say(sig)} (Ctrl-C again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
