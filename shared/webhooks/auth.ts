/**
 * Webhook URL secrets: stored only as SHA-256 hex, compared in constant time, looked up per
 * org through a narrow port (the org registry implements it) with a short per-container cache.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../secret.ts';

/** What the receiver needs to know about an org to authenticate its webhooks. */
export interface WebhookAuth {
  /**
   * `active` and `needs_reauth` orgs accept webhooks (a broken token must not lose events:
   * the worker deals with it); `disabled` orgs are refused.
   */
  status: 'active' | 'needs_reauth' | 'disabled';
  /**
   * SHA-256 hex digests of every URL secret valid now: the current one and, during a rotation's
   * grace window, the previous one. The registry leaves out hashes past their `validUntil`.
   */
  hashes: readonly string[];
}

/** The port the org registry implements (`findWebhookAuth(orgId)` in `shared/orgs`). */
export interface WebhookAuthLookup {
  /** The org's webhook auth, or `undefined` for an org we do not know. */
  findWebhookAuth(orgId: string): Promise<WebhookAuth | undefined>;
}

/**
 * The stored form of a URL secret: SHA-256 of its UTF-8 text, lower-case hex.
 *
 * @example hashWebhookSecret(new Secret('s3cr3t')) // '4e738ca5…'
 */
export function hashWebhookSecret(secret: Secret): string {
  return createHash('sha256').update(secret.reveal(), 'utf8').digest('hex');
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;
// compared against when an org has no usable hash, so "unknown org" costs what "wrong secret" does
const DECOY_DIGEST = createHash('sha256').update('tallyfy-serverless decoy').digest();

/**
 * Whether `secret` matches one of `hashes`. Every hash is compared with
 * `crypto.timingSafeEqual` on the 32-byte digests and the loop never exits early, so the time
 * taken says nothing about which (or whether a) hash matched. Malformed stored hashes never
 * match. An empty list is compared against a decoy and is `false`.
 *
 * @example verifyWebhookSecret(secretFromUrl, auth.hashes) // true | false
 */
export function verifyWebhookSecret(secret: Secret, hashes: readonly string[]): boolean {
  const digest = createHash('sha256').update(secret.reveal(), 'utf8').digest();
  let matched = 0;
  const candidates = hashes.length > 0 ? hashes : [''];
  for (const hash of candidates) {
    const wellFormed = SHA256_HEX.test(hash);
    const expected = wellFormed ? Buffer.from(hash, 'hex') : DECOY_DIGEST;
    const equal = timingSafeEqual(digest, expected);
    matched |= Number(equal && wellFormed);
  }
  return matched === 1;
}

/** Options of {@link cachedWebhookAuthLookup}. */
export interface WebhookAuthCacheOptions {
  /**
   * How long an answer (including "no such org") is reused. Keeps DynamoDB reads to one per
   * org per container per TTL; also the longest a disabled org or a rotated-out secret is still
   * honoured by a warm container.
   * @default 30_000
   */
  ttlMs?: number;
  /**
   * Orgs remembered at once; the least recently stored is dropped first, so random org ids
   * from scanners cannot grow the container's memory.
   * @default 1000
   */
  maxEntries?: number;
  /** Epoch ms. */
  clock: () => number;
}

/**
 * A {@link WebhookAuthLookup} that remembers answers for `ttlMs` and shares one in-flight
 * lookup among concurrent callers. Failures are not cached (the next request asks again).
 *
 * @example
 * // module scope: one cache per container
 * const auth = cachedWebhookAuthLookup(registry, { clock: Date.now });
 */
export function cachedWebhookAuthLookup(
  lookup: WebhookAuthLookup,
  options: WebhookAuthCacheOptions,
): WebhookAuthLookup {
  const ttlMs = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 1000;
  if (!(ttlMs >= 0))
    throw new RangeError(`cachedWebhookAuthLookup: ttlMs must be >= 0, got ${ttlMs}`);
  if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) {
    throw new RangeError(
      `cachedWebhookAuthLookup: maxEntries must be a positive integer, got ${maxEntries}`,
    );
  }
  const { clock } = options;
  const entries = new Map<string, { value: WebhookAuth | undefined; expiresAtMs: number }>();
  const inFlight = new Map<string, Promise<WebhookAuth | undefined>>();

  return {
    async findWebhookAuth(orgId) {
      const cached = entries.get(orgId);
      if (cached !== undefined && cached.expiresAtMs > clock()) return cached.value;
      const pending = inFlight.get(orgId);
      if (pending !== undefined) return pending;
      const request = lookup.findWebhookAuth(orgId).then(
        (value) => {
          inFlight.delete(orgId);
          entries.delete(orgId);
          entries.set(orgId, { value, expiresAtMs: clock() + ttlMs });
          if (entries.size > maxEntries) {
            const oldest = entries.keys().next();
            if (oldest.done !== true) entries.delete(oldest.value);
          }
          return value;
        },
        (error: unknown) => {
          inFlight.delete(orgId);
          throw error;
        },
      );
      inFlight.set(orgId, request);
      return request;
    },
  };
}
