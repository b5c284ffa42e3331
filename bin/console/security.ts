/**
 * Who may use the console, checked on every request before anything else:
 * - loopback only: the peer address is loopback, the `Host` header a loopback name on our own
 *   port (no DNS rebinding), and no forwarding header (a tunnel or proxy in front does not open
 *   it) — the local admin route's rules;
 * - the per-start token: every URL is under `<mount>/<token>/`; the token is 32 random bytes,
 *   compared in constant time, printed once by the CLI (never logged);
 * - CSRF on every action (POST): a per-start form token (a second random value, not the URL
 *   token) in the body, a same-origin `Origin` when the browser sends one, and
 *   `Sec-Fetch-Site: same-origin` when the browser sends that.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(?::(\d+))?$/i;
const FORWARDING_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
];

/** A per-start random value: 32 bytes, base64url (43 characters). */
export const randomToken = (): string => randomBytes(32).toString('base64url');

/** The per-start secrets of one console. */
export interface ConsoleSecrets {
  /** In every URL: `<mount>/<urlToken>/…`. */
  readonly urlToken: string;
  /** In every form: `csrf=<formToken>`. */
  readonly formToken: string;
}

export function newConsoleSecrets(): ConsoleSecrets {
  return { urlToken: randomToken(), formToken: randomToken() };
}

/** Constant-time equality of two strings (different lengths are simply unequal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Why a request is refused, as the answer says it (never echoing what was sent). */
export interface Refusal {
  status: 403 | 404 | 405 | 413 | 415;
  message: string;
}

/**
 * The loopback rules; `undefined` when the request may go on. `port` is the port we listen
 * on: a `Host` naming another port is another site.
 */
export function checkLoopback(request: IncomingMessage, port: number): Refusal | undefined {
  const refused = {
    status: 403,
    message: 'The console answers loopback callers only (127.0.0.1, no proxy or tunnel).',
  } as const;
  if (!LOOPBACK_ADDRESSES.has(request.socket.remoteAddress ?? '')) return refused;
  if (FORWARDING_HEADERS.some((name) => request.headers[name] !== undefined)) return refused;
  const host = LOOPBACK_HOST.exec(request.headers.host ?? '');
  if (host === null) return refused;
  const hostPort = host[2] === undefined ? 80 : Number(host[2]);
  if (hostPort !== port) return refused;
  return undefined;
}

/**
 * The CSRF rules for an action; `undefined` when it may go on. `form` is the parsed body.
 * `origins` are the origins the console is served on (`http://127.0.0.1:<port>`, and the
 * `localhost` and `[::1]` spellings).
 */
export function checkCsrf(
  request: IncomingMessage,
  form: URLSearchParams,
  secrets: ConsoleSecrets,
  origins: ReadonlySet<string>,
): Refusal | undefined {
  const refused = (why: string): Refusal => ({
    status: 403,
    message: `Refused: ${why}. Reload the page and try again.`,
  });
  const origin = request.headers.origin;
  if (origin !== undefined && !origins.has(origin))
    return refused('the request came from another site');
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    return refused('the request came from another site');
  const token = form.get('csrf');
  if (token === null || !sameSecret(token, secrets.formToken)) {
    return refused('the form token is missing or stale');
  }
  return undefined;
}

/** The origins a browser may send for pages of this console. */
export function consoleOrigins(port: number): Set<string> {
  return new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]);
}

/** Headers of every console answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // not no-referrer: with it, browsers send `Origin: null` on form posts and the CSRF check
  // could not tell our own forms from a sandboxed frame's; same-origin keeps the URL token
  // (in the path) from ever leaving for another site
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

/** Headers for a report.html served through the console: its own inline styles, nothing else. */
export const REPORT_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...SECURITY_HEADERS,
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
});
