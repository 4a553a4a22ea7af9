/** Exit codes, in one place. Documented in README "Exit codes"; scripts depend on them. */
import type { ErrorKind } from '../errors.js';

export const EXIT = {
  /** Report written; `check`: every objective of the SLO holds. */
  ok: 0,
  /** A cause was found and --exit-code was given (like `git diff --exit-code`); `check`: SLO breached. */
  causeFound: 1,
  /** A bad flag or argument (`check`: an --slo outside the grammar). */
  usage: 2,
  /** A bundle, profile or response is unusable. */
  input: 3,
  /** A source could not be reached or answered badly; nothing could be evaluated (`check`: also no series or no requests in the window). */
  unavailable: 4,
  /** Our own output could not be written (`check`: --junit, $GITHUB_STEP_SUMMARY). */
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
