/**
 * Signatures of `http_post` actions, as the Standard Webhooks spec (standardwebhooks.com) has
 * them, so receivers can use any Standard Webhooks library:
 *
 * - `webhook-id`: the action's marker, the same on every attempt of one (event, rule, action):
 *   receivers dedupe by it;
 * - `webhook-timestamp`: Unix seconds of this attempt (receivers reject old ones: replay guard);
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
 *
 * The key is the secret's bytes; a secret written `whsec_<base64>` (the spec's form) is decoded.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../secret.ts';

/** Header names (lower case, as HTTP/2 and undici send them). */
export const SIGNATURE_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

function keyBytes(secret: Secret): Buffer {
  const text = secret.reveal();
  return text.startsWith('whsec_') ? Buffer.from(text.slice(6), 'base64') : Buffer.from(text);
}

/**
 * The signature header value of one delivery.
 *
 * @example signPayload(new Secret('whsec_…'), 'tsf-3b9c…', 1763550133, '{"a":1}') // 'v1,K5o…='
 */
export function signPayload(
  secret: Secret,
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac('sha256', keyBytes(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The three signature headers of one delivery. */
export function signatureHeaders(
  secret: Secret,
  id: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  return {
    [SIGNATURE_HEADERS.id]: id,
    [SIGNATURE_HEADERS.timestamp]: String(timestampSeconds),
    [SIGNATURE_HEADERS.signature]: signPayload(secret, id, timestampSeconds, body),
  };
}

/**
 * Verifies a delivery (for receivers written in TypeScript, and our tests): constant-time
 * compare of every `v1,` signature in the header, and a timestamp within `toleranceSeconds`.
 */
export function verifySignature(
  secret: Secret,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  options: { nowSeconds: number; toleranceSeconds?: number },
): boolean {
  const first = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = first(SIGNATURE_HEADERS.id);
  const timestamp = first(SIGNATURE_HEADERS.timestamp);
  const signatures = first(SIGNATURE_HEADERS.signature);
  if (id === undefined || timestamp === undefined || signatures === undefined) return false;
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(options.nowSeconds - Number(timestamp)) > tolerance) return false;
  const expected = Buffer.from(signPayload(secret, id, Number(timestamp), body));
  return signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
