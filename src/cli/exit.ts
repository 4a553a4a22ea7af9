/** Exit codes, in one place. Documented in README "Exit codes"; scripts depend on them. */
import type { ErrorKind } from '../errors.js';

export const EXIT = {
  ok: 0,
  /** A cause was found and --exit-code was given (like `git diff --exit-code`); `check`: SLO breached. */
  causeFound: 1,
  usage: 2,
  /** A bundle, profile or response is unusable. */
  input: 3,
  /** A source could not be reached or answered badly; nothing could be evaluated. */
  unavailable: 4,
  /** Our own output could not be written. */
  io: 5,
  internal: 70,
  /** SIGINT (128 + 2); a partial bundle is kept. */
  interrupted: 130,
} as const;

export const EXIT_FOR_ERROR: Record<ErrorKind, number> = {
  usage: EXIT.usage,
  input: EXIT.input,
  unavailable: EXIT.unavailable,
  io: EXIT.io,
  interrupted: EXIT.interrupted,
  internal: EXIT.internal,
};
