/** Test double for watchdog.test.ts: a "parser" call that never returns, run under the fuzz watchdog. */
import { bounded } from './fuzz.js';

bounded('input that hangs', () => {
  for (;;) {
    // spin: a synchronous loop no timer of this thread can interrupt
  }
});
