/** Sample values for people: durations, sizes and counts. Pure. */

const NS_PER: Record<string, number> = {
  nanoseconds: 1, nanosecond: 1, ns: 1,
  microseconds: 1e3, microsecond: 1e3, us: 1e3, 'µs': 1e3,
  milliseconds: 1e6, millisecond: 1e6, ms: 1e6,
  seconds: 1e9, second: 1e9, s: 1e9,
};
const BYTE_UNITS = new Set(['bytes', 'byte', 'b']);
const TIME_STEPS: Array<[number, string]> = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs'], [1, 'ns']];
const BYTE_STEPS: Array<[number, string]> = [[2 ** 40, 'TB'], [2 ** 30, 'GB'], [2 ** 20, 'MB'], [2 ** 10, 'KB'], [1, 'B']];

/** `12.3 ms`, `4.50 MB`, `1,234 samples`: three significant digits for scaled units, exact counts. */
export function formatValue(value: number, unit: string): string {
  const u = unit.toLowerCase();
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  if (u in NS_PER) return sign + scaled(abs * NS_PER[u], TIME_STEPS);
  if (BYTE_UNITS.has(u)) return sign + scaled(abs, BYTE_STEPS);
  const n = Number.isInteger(abs) ? abs.toLocaleString('en-US') : abs.toFixed(2);
  return sign + (u === 'count' || u === '' ? n : `${n} ${unit}`);
}

/** `+2.30 ms (+23.0%)` against the baseline; `new` when the baseline is zero. */
export function formatDelta(value: number, baseValue: number, unit: string): string {
  const delta = value - baseValue;
  const abs = (delta >= 0 ? '+' : '') + formatValue(delta, unit);
  if (baseValue === 0) return delta === 0 ? '±0' : `${abs} (new)`;
  const pct = (delta / baseValue) * 100;
  return `${abs} (${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%)`;
}

/** Share of the total with two decimals, as flamegraph.pl prints it. */
export function formatPercent(value: number, total: number): string {
  return total > 0 ? `${((value / total) * 100).toFixed(2)}%` : '0.00%';
}

function scaled(v: number, steps: Array<[number, string]>): string {
  const [size, name] = steps.find(([s]) => v >= s) ?? steps[steps.length - 1];
  const x = v / size;
  const text = size === 1 && Number.isInteger(x) ? String(x) : x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2);
  return `${text} ${name}`;
}
