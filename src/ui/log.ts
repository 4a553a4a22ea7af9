/** Progress and diagnostics go to stderr; stdout carries only the report. */

export interface Logger {
  info(msg: string): void;
  debug(msg: string): void;
}

export function makeLogger(opts: { quiet?: boolean; debug?: boolean }): Logger {
  return {
    info: (msg) => {
      if (!opts.quiet) process.stderr.write(`p99sleuth: ${msg}\n`);
    },
    debug: (msg) => {
      if (opts.debug) process.stderr.write(`p99sleuth [debug]: ${msg}\n`);
    },
  };
}
