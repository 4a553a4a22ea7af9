/** Whether stdout gets colour: --no-color and NO_COLOR turn it off, FORCE_COLOR on, else only on a terminal. */
export function useColor(g: { color: boolean }): boolean {
  // chalk 5 ignores NO_COLOR; honour it (https://no-color.org) and --no-color ourselves.
  if (!g.color || process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR) return true;
  return process.stdout.isTTY === true;
}
