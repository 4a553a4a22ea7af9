/**
 * The `.folded` text format of flamegraph.pl and speedscope: one `root;…;leaf value` per line.
 *
 * Differential stacks use difffolded.pl's columns, `root;…;leaf baseValue value`, which
 * flamegraph.pl draws as a differential graph.
 *
 * Escaping (ours; the format has none): inside a frame, `\` is written `\\` and `;` is written
 * `\;`, so any name survives toFolded → parseFolded. A backslash before any other character is
 * read literally, so Windows paths in other tools' files stay intact. Line breaks inside a frame
 * cannot be represented and are written as spaces.
 */
import type { FlameStack } from './model.js';

const NUMBER = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Parses folded text; blank lines and trailing whitespace are ignored, anything else malformed throws. */
export function parseFolded(text: string): FlameStack[] {
  const stacks: FlameStack[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trimEnd();
    if (line.trim() === '') continue;
    const fail = (why: string): never => {
      throw new Error(`folded line ${i + 1}: ${why}: ${JSON.stringify(line.slice(0, 120))}`);
    };
    const fields = line.split(/\s+/);
    // One or two trailing numbers; the stack itself may contain spaces.
    let numbers = 0;
    while (numbers < 2 && fields.length - numbers > 1 && NUMBER.test(fields[fields.length - 1 - numbers])) numbers++;
    if (numbers === 0) fail('expected "frame;frame;… value"');
    const valueText = line.match(numbers === 2 ? /\s+(\S+)\s+(\S+)$/ : /\s+(\S+)$/)!;
    const stackText = line.slice(0, valueText.index);
    if (stackText.trim() === '') fail('missing stack');
    const frames = splitFrames(stackText);
    if (frames.some((f) => f === '')) fail('empty frame name');
    if (numbers === 2) {
      stacks.push({ frames, value: Number(valueText[2]), baseValue: Number(valueText[1]) });
    } else {
      stacks.push({ frames, value: Number(valueText[1]) });
    }
  }
  return stacks;
}

/** Writes folded text, one stack per line; two value columns if any stack has a `baseValue`. */
export function toFolded(stacks: readonly FlameStack[]): string {
  const diff = stacks.some((s) => s.baseValue !== undefined);
  let out = '';
  for (const s of stacks) {
    const path = s.frames.map(escapeFrame).join(';');
    out += diff ? `${path} ${s.baseValue ?? 0} ${s.value}\n` : `${path} ${s.value}\n`;
  }
  return out;
}

function escapeFrame(name: string): string {
  return name.replace(/[\\;]/g, '\\$&').replace(/[\r\n]+/g, ' ');
}

/** Splits on unescaped `;`, undoing `\;` and `\\`. */
function splitFrames(stack: string): string[] {
  if (!stack.includes('\\')) return stack.split(';');
  const frames: string[] = [];
  let cur = '';
  for (let i = 0; i < stack.length; i++) {
    const c = stack[i];
    const next = stack[i + 1];
    if (c === '\\' && (next === ';' || next === '\\')) {
      cur += next;
      i++;
    } else if (c === ';') {
      frames.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  frames.push(cur);
  return frames;
}
