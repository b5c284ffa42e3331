const REDACTED = '[redacted]';

/** Longest message kept by {@link sanitizeError}. */
export const MAX_ERROR_MESSAGE_LENGTH = 500;

// Each rule keeps what helps an operator (the key name, the org id) and drops the value.
const RULES: readonly [RegExp, (match: string, ...groups: string[]) => string][] = [
  // Authorization header values: `Bearer <token>`, `Basic <credentials>`
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, (_, scheme) => `${scheme} ${REDACTED}`],
  // JWTs anywhere (access tokens are JWTs)
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, () => REDACTED],
  // key=value, key: value and "key":"value" forms of credential fields (not the `:secret:`
  // segment of a Secrets Manager ARN)
  [
    /(?<![:/])\b(password|passwd|refresh_token|access_token|id_token|client_secret|api[_-]?key|secret)(\\?["']?\s*[=:]\s*\\?["']?)[^\s&"',;}\\]+/gi,
    (_, key, separator) => `${key}${separator}${REDACTED}`,
  ],
  // the per-org webhook URL carries its secret as the last path segment
  [/(\/hooks\/[^/\s]+\/)[^/\s?#"']+/g, (_, path) => `${path}${REDACTED}`],
  // credentials inside URLs: https://user:pass@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, (_, scheme) => `${scheme}${REDACTED}@`],
  // long base64/base64url/hex runs mixing letters and digits (refresh tokens, webhook secrets);
  // 32-character Tallyfy ids and plain words stay readable
  [
    /[A-Za-z0-9+/_-]{40,}={0,2}/g,
    (match) => (/\d/.test(match) && /[A-Za-z]/.test(match) ? REDACTED : match),
  ],
];

/**
 * Removes what looks like a credential from free text: bearer tokens, JWTs, `password=`,
 * `refresh_token=`, `client_secret=` and similar pairs, webhook URL secrets, URL userinfo and
 * long base64/hex runs. A second line of defence for text we did not write (third-party
 * error messages); our own errors never carry secrets in the first place.
 *
 * @example
 * scrubSecrets('grant failed: refresh_token=def502abc'); // 'grant failed: refresh_token=[redacted]'
 */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replace] of RULES) {
    out = out.replace(pattern, replace as (substring: string, ...args: unknown[]) => string);
  }
  return out;
}

/** What we store as an org's `lastError`: a stable code and a short, scrubbed message. */
export interface SanitizedError {
  readonly code: string;
  readonly message: string;
}

/**
 * Turns anything thrown into `{ code, message }` safe to store on the org item and show in the
 * CLI: the error's `code` (or its class name), its message followed by its causes' messages,
 * scrubbed with {@link scrubSecrets} and cut to {@link MAX_ERROR_MESSAGE_LENGTH} characters.
 *
 * @example
 * sanitizeError(new TallyfyAuthError('token rejected', { cause }));
 * // { code: 'TALLYFY_UNAUTHORIZED', message: 'token rejected; caused by: ...' }
 */
export function sanitizeError(err: unknown): SanitizedError {
  const code = codeOf(err);
  const messages: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current) && seen.size < 5) {
    seen.add(current);
    messages.push(messageOf(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  const message = scrubSecrets(messages.filter((m) => m !== '').join('; caused by: '));
  return Object.freeze({ code, message: truncate(message, MAX_ERROR_MESSAGE_LENGTH) });
}

function codeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  }
  if (err instanceof Error && /^[A-Za-z0-9_]{1,64}$/.test(err.name)) return err.name;
  return 'UNKNOWN_ERROR';
}

function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // objects: their own toString may be a Secret's `[redacted]`; anything else says only its kind
  if (typeof value === 'object' && value !== null && value.toString !== Object.prototype.toString) {
    return String(value);
  }
  return `non-error value thrown (${typeof value})`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
