/**
 * Reading what is left of a damaged JSON file: a parser that keeps every value that was
 * complete before the damage (a file cut short, a bad byte in the middle), and a scan that
 * finds complete objects after it. Callers decide which of those objects are their records.
 */

/** What local mode did with a damaged data file; logged, and shown in /health and the banner. */
export interface SalvageReport {
  /** The data file (absolute path). */
  file: string;
  /** Where the damaged original was kept, untouched. */
  keptAt: string;
  /** Records recovered into the data file. */
  kept: number;
  /** Records that could not be recovered (at least this many when the file was cut short). */
  lost: number;
  /** What was wrong, e.g. `the file ends in the middle of a value (byte 52311)`. */
  reason: string;
}

/** The longest valid prefix of a JSON text, as values. */
export interface PartialJson {
  /** What was parsed; containers cut by the damage hold their complete children only. */
  value: unknown;
  /** The whole text is one valid JSON value. */
  complete: boolean;
  /** Offset where parsing stopped (the text's length when complete). */
  stoppedAt: number;
  /** Why parsing stopped early. */
  reason?: string;
  /** Whether a value (and so everything in it) was parsed to its end. */
  isComplete(node: unknown): boolean;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: a JSON string may not hold raw control characters (RFC 8259 §7)
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const MAX_DEPTH = 256;

type Step = { ok: true; value: unknown } | { ok: false; partial?: object };

class PrefixParser {
  pos: number;
  stop: { at: number; reason: string } | undefined;
  readonly incomplete = new WeakSet<object>();
  readonly #text: string;

  constructor(text: string, pos: number) {
    this.#text = text;
    this.pos = pos;
  }

  value(depth: number): Step {
    this.#space();
    const c = this.#text[this.pos];
    if (c === undefined) return this.#fail('the file ends where a value should be');
    if (depth > MAX_DEPTH) return this.#fail('values nested too deep');
    if (c === '{') return this.#object(depth);
    if (c === '[') return this.#array(depth);
    if (c === '"') return this.#token(STRING, 'a string is cut or malformed');
    if (c === '-' || (c >= '0' && c <= '9')) return this.#token(NUMBER, 'a malformed number');
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.#text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { ok: true, value };
      }
    }
    return this.#fail(`unexpected ${JSON.stringify(c)}`);
  }

  #object(depth: number): Step {
    const object: Record<string, unknown> = {};
    this.pos += 1;
    this.#space();
    if (this.#text[this.pos] === '}') {
      this.pos += 1;
      return { ok: true, value: object };
    }
    for (;;) {
      this.#space();
      if (this.#text[this.pos] !== '"') return this.#cut(object, 'expected a key');
      const key = this.#token(STRING, 'a key is cut or malformed');
      if (!key.ok) return this.#cut(object);
      this.#space();
      if (this.#text[this.pos] !== ':') return this.#cut(object, 'expected ":"');
      this.pos += 1;
      const member = this.value(depth + 1);
      if (!member.ok) {
        if (member.partial !== undefined) object[key.value as string] = member.partial;
        return this.#cut(object);
      }
      object[key.value as string] = member.value;
      this.#space();
      const next = this.#text[this.pos];
      this.pos += 1;
      if (next === '}') return { ok: true, value: object };
      if (next !== ',') {
        this.pos -= 1;
        return this.#cut(
          object,
          next === undefined ? 'the file ends early' : 'expected "," or "}"',
        );
      }
    }
  }

  #array(depth: number): Step {
    const array: unknown[] = [];
    this.pos += 1;
    this.#space();
    if (this.#text[this.pos] === ']') {
      this.pos += 1;
      return { ok: true, value: array };
    }
    for (;;) {
      const element = this.value(depth + 1);
      if (!element.ok) {
        if (element.partial !== undefined) array.push(element.partial);
        return this.#cut(array);
      }
      array.push(element.value);
      this.#space();
      const next = this.#text[this.pos];
      this.pos += 1;
      if (next === ']') return { ok: true, value: array };
      if (next !== ',') {
        this.pos -= 1;
        return this.#cut(array, next === undefined ? 'the file ends early' : 'expected "," or "]"');
      }
    }
  }

  #token(pattern: RegExp, problem: string): Step {
    pattern.lastIndex = this.pos;
    const match = pattern.exec(this.#text);
    if (match === null) {
      // a string with no quote left to close it was cut by the end of the file
      const cut = pattern === STRING && this.#text.indexOf('"', this.pos + 1) < 0;
      return this.#fail(cut ? 'the file ends early' : problem);
    }
    // a number or string running into the end of the text may be cut short
    const end = this.pos + match[0].length;
    if (end >= this.#text.length && pattern === NUMBER) return this.#fail('the file ends early');
    this.pos = end;
    return { ok: true, value: JSON.parse(match[0]) };
  }

  #space(): void {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.#text);
    this.pos = WHITESPACE.lastIndex;
  }

  #fail(reason: string): Step {
    this.stop ??= {
      at: this.pos,
      reason: this.pos >= this.#text.length ? 'the file ends early' : reason,
    };
    return { ok: false };
  }

  #cut(container: object, reason?: string): Step {
    if (reason !== undefined) this.#fail(reason);
    this.incomplete.add(container);
    return { ok: false, partial: container };
  }
}

/**
 * Parses as much of `text` as is valid JSON. A file cut in the middle of an array keeps every
 * element before the cut; containers on the path to the damage are kept with their complete
 * children and reported by `isComplete(node) === false`.
 *
 * @example
 * const partial = parsePartialJson('{"secrets":[{"name":"a"},{"name":"b"');
 * partial.value; // { secrets: [{ name: 'a' }, { name: 'b' }] } — the second one incomplete
 * partial.isComplete((partial.value as any).secrets[1]); // false
 */
export function parsePartialJson(text: string): PartialJson {
  const parser = new PrefixParser(text, 0);
  const step = parser.value(0);
  let complete = step.ok;
  if (step.ok) {
    WHITESPACE.lastIndex = parser.pos;
    WHITESPACE.exec(text);
    if (WHITESPACE.lastIndex < text.length) {
      complete = false;
      parser.stop = { at: WHITESPACE.lastIndex, reason: 'unexpected text after the end' };
    }
  }
  const incomplete = parser.incomplete;
  return {
    value: step.ok ? step.value : step.partial,
    complete,
    stoppedAt: complete ? text.length : (parser.stop?.at ?? parser.pos),
    ...(complete ? {} : { reason: parser.stop?.reason ?? 'not valid JSON' }),
    isComplete: (node) => typeof node !== 'object' || node === null || !incomplete.has(node),
  };
}

/**
 * Every complete JSON object that starts at or after `from`, outermost first: an object that
 * `accept` takes is skipped as a whole, otherwise the scan looks inside it. Finds the records
 * that follow a damaged stretch of a file.
 */
export function* scanObjects(
  text: string,
  from: number,
  accept: (value: Record<string, unknown>) => boolean,
): Generator<{ value: Record<string, unknown>; start: number; end: number }> {
  let at = text.indexOf('{', from);
  while (at >= 0) {
    const parser = new PrefixParser(text, at);
    const step = parser.value(0);
    if (step.ok && accept(step.value as Record<string, unknown>)) {
      yield { value: step.value as Record<string, unknown>, start: at, end: parser.pos };
      at = text.indexOf('{', parser.pos);
    } else {
      at = text.indexOf('{', at + 1);
    }
  }
}

/** How many times `needle` occurs in `text` (a count of record keys, to estimate what was lost). */
export function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) {
    count += 1;
  }
  return count;
}
