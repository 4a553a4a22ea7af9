/**
 * Shared pieces of the property/fuzz tests: run counts (short by default, `FUZZ_RUNS=N` for the long
 * run of `npm run fuzz`), a watchdog that bounds every call, the "only our typed errors" check, and
 * mutators that derive inputs from real fixture bytes and text.
 */
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { SleuthError, type ErrorKind } from '../../src/errors.js';

/** Runs per property: FUZZ_RUNS when set (the long run), else the property's short count. */
export function runs(short: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : short;
}

/** fast-check parameters: the run count, and a seed from FUZZ_SEED to replay a reported failure. */
export function params(short: number): fc.Parameters<unknown> {
  const seed = Number(process.env.FUZZ_SEED);
  return { numRuns: runs(short), ...(Number.isInteger(seed) ? { seed } : {}), endOnFailure: true };
}

/** Milliseconds one parser call may take before the process is aborted as hung. */
export const CALL_BOUND_MS = Number(process.env.FUZZ_CALL_BOUND_MS) || 5000;

// ---- the watchdog ----
// A synchronous parser stuck in a loop blocks the event loop, so no timer of this thread can end it.
// A worker thread watches a shared clock instead: the main thread stamps the start of each call and
// copies the input into shared memory; a call older than CALL_BOUND_MS gets its input written to a
// file and the whole process killed, which fails the test run with the input named.

const INPUT_CAP = 4 << 20;
const shared = new SharedArrayBuffer(8 + INPUT_CAP);
const header = new Int32Array(shared, 0, 2); // [call start in ms since `epoch` (0 = idle), input length]
const inputBytes = new Uint8Array(shared, 8);
const epoch = Date.now();
let watchdog: Worker | undefined;

function startWatchdog(): void {
  const dump = path.join(os.tmpdir(), `p99sleuth-fuzz-hang-${process.pid}.bin`);
  // Plain JS (eval): the worker must not depend on the test's TypeScript loader.
  const code = `
    const { workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const header = new Int32Array(workerData.shared, 0, 2);
    const bytes = new Uint8Array(workerData.shared, 8);
    setInterval(() => {
      const started = Atomics.load(header, 0);
      if (started === 0 || Date.now() - workerData.epoch - started < workerData.bound) return;
      fs.writeFileSync(workerData.dump, bytes.slice(0, Atomics.load(header, 1)));
      // fd 2 directly: a worker's process.stderr goes through the main thread, which is the one stuck.
      fs.writeSync(2, 'fuzz: a call ran longer than ' + workerData.bound + ' ms (hang); its input is in ' + workerData.dump + '\\n');
      process.kill(process.pid, 'SIGABRT');
    }, 100);`;
  watchdog = new Worker(code, { eval: true, workerData: { shared, epoch, bound: CALL_BOUND_MS, dump } });
  watchdog.unref();
}

/** Run `fn(input)` under the watchdog; `input` is what gets dumped if it hangs. */
export function bounded<T>(input: string | Uint8Array, fn: () => T): T {
  if (!watchdog) startWatchdog();
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const n = Math.min(bytes.length, INPUT_CAP);
  inputBytes.set(bytes.subarray(0, n));
  Atomics.store(header, 1, n);
  Atomics.store(header, 0, Math.max(1, Date.now() - epoch));
  try {
    return fn();
  } finally {
    Atomics.store(header, 0, 0);
  }
}

/** Async variant for parsers behind a promise (the bundle loader). */
export async function boundedAsync<T>(input: string | Uint8Array, fn: () => Promise<T>): Promise<T> {
  if (!watchdog) startWatchdog();
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const n = Math.min(bytes.length, INPUT_CAP);
  inputBytes.set(bytes.subarray(0, n));
  Atomics.store(header, 1, n);
  Atomics.store(header, 0, Math.max(1, Date.now() - epoch));
  try {
    return await fn();
  } finally {
    Atomics.store(header, 0, 0);
  }
}

// ---- typed errors only ----

/**
 * Calls `fn`; a thrown error must be a SleuthError of one of `kinds` with a message. Returns the
 * result, or undefined when it threw as allowed.
 */
export function typedOnly<T>(input: string | Uint8Array, fn: () => T, kinds: ErrorKind[] = ['input']): T | undefined {
  try {
    return bounded(input, fn);
  } catch (err) {
    assertTyped(err, kinds);
    return undefined;
  }
}

export async function typedOnlyAsync<T>(input: string | Uint8Array, fn: () => Promise<T>, kinds: ErrorKind[] = ['input']): Promise<T | undefined> {
  try {
    return await boundedAsync(input, fn);
  } catch (err) {
    assertTyped(err, kinds);
    return undefined;
  }
}

export function assertTyped(err: unknown, kinds: ErrorKind[]): void {
  if (!(err instanceof SleuthError)) {
    assert.fail(`threw ${err instanceof Error ? `${err.constructor.name}: ${err.message}\n${err.stack}` : String(err)}, not a SleuthError`);
  }
  assert.ok(kinds.includes(err.kind), `SleuthError of kind ${err.kind} (${err.message}); expected ${kinds.join('|')}`);
  assert.ok(err.message.length > 0, 'an error says what is wrong');
}

// ---- mutators: inputs derived from real fixtures ----

type ByteOp =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'set'; at: number; byte: number }
  | { k: 'truncate'; at: number }
  | { k: 'insert'; at: number; bytes: Uint8Array }
  | { k: 'delete'; at: number; n: number }
  | { k: 'copy'; from: number; to: number; n: number }
  | { k: 'varint'; at: number; bytes: Uint8Array };

// Bytes that matter to protobuf: continuation bits, wire types, maximal varints.
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x10, 0x12, 0x1a, 0x22, 0x2a];
const MAX_VARINTS = [
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
  Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0x07),
];

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant('copy' as const), from: fc.nat(), to: fc.nat(), n: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ k: fc.constant('varint' as const), at: fc.nat(), bytes: fc.constantFrom(...MAX_VARINTS) }),
);

export function applyByteOps(seed: Uint8Array, ops: ByteOp[]): Uint8Array {
  let b = Buffer.from(seed);
  for (const op of ops) {
    const at = b.length ? op.k === 'copy' ? 0 : op.at % (b.length + 1) : 0;
    switch (op.k) {
      case 'flip':
        if (b.length) b[at % b.length] ^= 1 << op.bit;
        break;
      case 'set':
        if (b.length) b[at % b.length] = op.byte;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), op.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + op.n)]);
        break;
      case 'copy': {
        if (!b.length) break;
        const from = op.from % b.length;
        const chunk = Buffer.from(b.subarray(from, from + op.n));
        const to = op.to % b.length;
        b = Buffer.concat([b.subarray(0, to), chunk, b.subarray(to + chunk.length)]);
        break;
      }
      case 'varint':
        if (b.length) {
          const i = at % b.length;
          b = Buffer.concat([b.subarray(0, i), op.bytes, b.subarray(Math.min(b.length, i + op.bytes.length))]);
        }
        break;
    }
  }
  return b;
}

/** A real seed with 1-8 byte-level mutations. */
export const mutatedBytes = (seeds: Uint8Array[]) =>
  fc.tuple(fc.constantFrom(...seeds), fc.array(byteOp, { minLength: 1, maxLength: 8 })).map(([s, ops]) => applyByteOps(s, ops));

type TextOp =
  | { k: 'dropLine' | 'dupLine'; at: number }
  | { k: 'swapLines'; a: number; b: number }
  | { k: 'number'; at: number; value: string }
  | { k: 'insert'; at: number; text: string }
  | { k: 'delete'; at: number; n: number }
  | { k: 'truncate'; at: number };

// Numbers parsers get wrong: signs, overflow past 2^53 and 2^64, exponents, non-finite spellings.
const INTERESTING_NUMBERS = ['0', '-1', '-0', '1e309', '9007199254740993', '18446744073709551616', '99999999999999999999999', '1.5', 'NaN', '+Inf', '-Inf', '0x10', '', '00', '2K', '-4M', '1e-7'];
// Characters with a meaning in bpftrace text, JSON and Prometheus answers.
const INTERESTING_TEXT = ['[', ']', '(', ')', ':', ', ', ',', '@', '\n', '\n\n', '  ', '"', '{', '}', '\\', '\\u', '...', '|', '@@', '\r\n', '\u0000', '\ud800', 'null', 'true', '[]', '{}', '"type":', '"data":'];

const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({ k: fc.constantFrom('dropLine' as const, 'dupLine' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ k: fc.constant('number' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_NUMBERS), fc.integer().map(String)) }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...INTERESTING_TEXT), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 })) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
);

export function applyTextOps(seed: string, ops: TextOp[]): string {
  let s = seed;
  for (const op of ops) {
    switch (op.k) {
      case 'dropLine':
      case 'dupLine':
      case 'swapLines': {
        const lines = s.split('\n');
        if (op.k === 'swapLines') {
          const a = op.a % lines.length;
          const b = op.b % lines.length;
          [lines[a], lines[b]] = [lines[b], lines[a]];
        } else {
          const i = op.at % lines.length;
          if (op.k === 'dropLine') lines.splice(i, 1);
          else lines.splice(i, 0, lines[i]);
        }
        s = lines.join('\n');
        break;
      }
      case 'number': {
        // Replace the n-th number of the text (wrapping) with an interesting one.
        const nums = [...s.matchAll(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/g)];
        if (!nums.length) break;
        const m = nums[op.at % nums.length];
        s = s.slice(0, m.index) + op.value + s.slice(m.index! + m[0].length);
        break;
      }
      case 'insert': {
        const at = op.at % (s.length + 1);
        s = s.slice(0, at) + op.text + s.slice(at);
        break;
      }
      case 'delete': {
        const at = op.at % (s.length + 1);
        s = s.slice(0, at) + s.slice(at + op.n);
        break;
      }
      case 'truncate':
        s = s.slice(0, op.at % (s.length + 1));
        break;
    }
  }
  return s;
}

/** A real seed text with 1-6 text-level mutations. */
export const mutatedText = (seeds: string[]) =>
  fc.tuple(fc.constantFrom(...seeds), fc.array(textOp, { minLength: 1, maxLength: 6 })).map(([s, ops]) => applyTextOps(s, ops));

/** Relative equality for float sums whose order of addition differs. */
export function close(a: number, b: number, rel = 1e-9): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1);
}
