import * as z from 'zod';

/** An environment record: `process.env` in Lambda, a hand-built record in local mode and tests. */
export type EnvRecord = Readonly<Record<string, string | undefined>>;

/**
 * One environment variable: its name, the zod schema that turns its text into a value, a phrase
 * saying what is expected (used in errors and in docs/configuration.md), and what happens when
 * it is unset: a default (given as the text the variable would hold), `optional`, or required.
 */
export type Fallback =
  | { readonly kind: 'default'; readonly text: string }
  | { readonly kind: 'optional' }
  | { readonly kind: 'required' }
  | DerivedFallback;

/**
 * A default computed from the variables read before it in the same section (the token URL from
 * the API base URL); when it cannot be derived the variable is required, and the issue says so.
 */
export interface DerivedFallback {
  readonly kind: 'derived';
  /** How the default is found, for docs and help (`(derived from TALLYFY_BASE_URL: …)`). */
  readonly text: string;
  /**
   * The default as text; `undefined` when the earlier values give none (the variable is then
   * required); `null` when a value it needs failed to load (that variable's issue says why).
   */
  readonly derive: (earlier: Readonly<Record<string, unknown>>) => string | undefined | null;
}

export interface Variable<T = unknown, F extends Fallback = Fallback> {
  readonly name: string;
  readonly schema: z.ZodType<T, string>;
  /** What a valid value looks like, e.g. `an integer from 1 to 50`. */
  readonly expected: string;
  /** One line on what the variable controls. */
  readonly meaning: string;
  readonly fallback: F;
}

/** The value a variable yields once loaded: optional variables may be `undefined`. */
export type VariableValue<V> =
  V extends Variable<infer T, infer F>
    ? F extends { kind: 'optional' }
      ? T | undefined
      : T
    : never;

/** One problem found while loading config: the variable, what it holds, what was expected. */
export interface ConfigIssue {
  readonly variable: string;
  /** `unset` when the variable is missing or blank, `malformed` when its text is not valid. */
  readonly problem: 'unset' | 'malformed';
  readonly expected: string;
  /** The text found (malformed only), shortened to 80 characters. Config never holds secrets. */
  readonly received?: string;
}

/**
 * Thrown when the environment does not hold a valid configuration. The message names every
 * bad variable and what it should hold, so one failed cold start shows every fix at once.
 *
 * @example
 * try { loadConfig(['orgs'], {}); } catch (err) {
 *   if (err instanceof ConfigError) console.error(err.issues.map((i) => i.variable)); // ['ORGS_TABLE']
 * }
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues
        .map(describeIssue)
        .join('\n')}`,
    );
    this.issues = Object.freeze([...issues]);
  }
}

function describeIssue(issue: ConfigIssue): string {
  return issue.problem === 'unset'
    ? `- ${issue.variable} is not set; expected ${issue.expected}`
    : `- ${issue.variable} is ${JSON.stringify(issue.received)}; expected ${issue.expected}`;
}

/** Declares a variable; without `fallback` it is required. */
export function variable<T, F extends Fallback = { readonly kind: 'required' }>(
  name: string,
  schema: z.ZodType<T, string>,
  expected: string,
  meaning: string,
  fallback?: F,
): Variable<T, F> {
  const resolved = (fallback ?? { kind: 'required' }) as F;
  // a default that fails its own schema is a programming error: fail at import, not at runtime
  if (resolved.kind === 'default' && !schema.safeParse(resolved.text).success) {
    throw new TypeError(`default ${JSON.stringify(resolved.text)} of ${name} is not ${expected}`);
  }
  return Object.freeze({ name, schema, expected, meaning, fallback: resolved });
}

export const optional = () => ({ kind: 'optional' }) as const;
export const defaultsTo = (text: string) => ({ kind: 'default', text }) as const;
export const derivedFrom = (text: string, derive: DerivedFallback['derive']): DerivedFallback => ({
  kind: 'derived',
  text,
  derive,
});

/**
 * Reads one variable; blank text counts as unset (a CDK `''` must not pass as a value).
 * `earlier` holds the values read before it in its section (for a derived default).
 */
export function readVariable<T>(
  v: Variable<T, Fallback>,
  env: EnvRecord,
  earlier: Readonly<Record<string, unknown>> = {},
): { ok: true; value: T | undefined } | { ok: false; issue: ConfigIssue } {
  const raw = env[v.name];
  const fallback = v.fallback;
  const derived =
    fallback.kind === 'derived' && (raw === undefined || raw.trim() === '')
      ? fallback.derive(earlier)
      : undefined;
  // the value it derives from failed: that variable's issue fails the load, one issue per fix
  if (derived === null) return { ok: true, value: undefined };
  const text =
    raw === undefined || raw.trim() === ''
      ? fallback.kind === 'default'
        ? fallback.text
        : derived
      : raw.trim();
  if (text === undefined) {
    if (fallback.kind === 'optional') return { ok: true, value: undefined };
    return { ok: false, issue: { variable: v.name, problem: 'unset', expected: v.expected } };
  }
  const parsed = v.schema.safeParse(text);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    issue: {
      variable: v.name,
      problem: 'malformed',
      expected: v.expected,
      received: text.length > 80 ? `${text.slice(0, 77)}...` : text,
    },
  };
}

// ---- schema builders: each parses the variable's text -------------------------------------

/**
 * A whole number written in decimal digits, within [min, max]. One check in one transform (3
 * zod instances, where `regex().transform().pipe(z.number().int().min().max())` built 13): about
 * 30 of these are built at every cold start (test/unit/config/variable.test.ts pins the same
 * answers as that chain).
 */
export function integer(min: number, max: number): z.ZodType<number, string> {
  return z.string().transform((text, ctx) => {
    const value = Number(text);
    if (/^-?\d+$/.test(text) && Number.isSafeInteger(value) && value >= min && value <= max) {
      return value;
    }
    ctx.addIssue({ code: 'custom', message: `not an integer from ${min} to ${max}` });
    return z.NEVER;
  });
}

/** A decimal number within the open interval (min, max). */
export function fractionBetween(min: number, max: number): z.ZodType<number, string> {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number)
    .pipe(z.number().gt(min).lt(max));
}

/**
 * An absolute http(s) URL without credentials in it. Not `z.httpUrl()`: its hostname rule
 * rejects `localhost` and IP addresses, which local mode needs.
 */
export function httpUrl(): z.ZodType<string, string> {
  return z.string().refine((text) => {
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.hostname !== '' &&
      url.username === '' &&
      url.password === ''
    );
  });
}

/** Text matching a pattern. */
export function matching(pattern: RegExp): z.ZodType<string, string> {
  return z.string().regex(pattern);
}
