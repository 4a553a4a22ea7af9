/**
 * The one error type of p99sleuth. Every expected failure is a SleuthError with a kind; the CLI maps
 * kinds to exit codes in one place (cli/exit.ts) and prints `message` and `hint`, never a stack.
 */
export type ErrorKind =
  | 'usage' // the command line is wrong
  | 'input' // a bundle, profile or response we were given is unusable
  | 'unavailable' // a source (Prometheus, pprof endpoint, kubectl) could not be reached or answered badly
  | 'io' // we could not write our own output
  | 'interrupted' // Ctrl-C / SIGTERM
  | 'internal'; // a bug

export class SleuthError extends Error {
  override readonly name = 'SleuthError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** What the user should do about it. */
    public hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const inputError = (message: string, hint?: string, cause?: unknown) =>
  new SleuthError('input', message, hint, { cause });
export const usageError = (message: string, hint?: string) => new SleuthError('usage', message, hint);

/** A readable one-line description of anything thrown. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
