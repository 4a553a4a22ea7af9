/**
 * A JSON reader that keeps every member of an object, duplicates included: bpftrace's `-f json`
 * prints identical stacks as repeated keys of one object, and JSON.parse would keep only the last.
 * Pure; throws SyntaxError with the offset on malformed input.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** An object's members in document order, duplicates kept. */
export class JsonObject {
  constructor(readonly members: Array<[string, JsonValue]>) {}

  /** The last value of `key`, as JSON.parse would keep it. */
  get(key: string): JsonValue | undefined {
    for (let i = this.members.length - 1; i >= 0; i--) if (this.members[i][0] === key) return this.members[i][1];
    return undefined;
  }
}

export function parseJsonPairs(text: string): JsonValue {
  const r = new Reader(text);
  const v = r.value();
  r.ws();
  if (r.i !== text.length) r.fail('trailing characters');
  return v;
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Reader {
  i = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new SyntaxError(`${what} at offset ${this.i}`);
  }

  ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i])) this.i++;
  }

  value(): JsonValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    NUMBER_RE.lastIndex = this.i;
    const m = NUMBER_RE.exec(this.s);
    if (!m) this.fail('unexpected character');
    this.i += m[0].length;
    return Number(m[0]);
  }

  object(): JsonObject {
    const members: Array<[string, JsonValue]> = [];
    this.i++; // {
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return new JsonObject(members);
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const k = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') this.fail('expected ":"');
      members.push([k, this.value()]);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return new JsonObject(members);
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }

  array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.i++; // [
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }

  string(): string {
    let out = '';
    let start = ++this.i; // opening quote
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail('unterminated string');
      if (c === '"') {
        out += this.s.slice(start, this.i++);
        return out;
      }
      if (c === '\\') {
        out += this.s.slice(start, this.i);
        const e = this.s[this.i + 1];
        if (e === 'u') {
          const hex = this.s.slice(this.i + 2, this.i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.i += 6;
        } else {
          if (!(e in ESCAPES)) this.fail('bad escape');
          out += ESCAPES[e];
          this.i += 2;
        }
        start = this.i;
      } else {
        this.i++;
      }
    }
  }
}
