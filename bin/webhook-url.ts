/** Webhook URL secrets: generated here, shown once, stored only as their SHA-256. */
import { randomBytes } from 'node:crypto';
import { Secret } from '../shared/secret.ts';
import { hashWebhookSecret, verifyWebhookSecret } from '../shared/webhooks/index.ts';

/** A new URL secret (32 random bytes, base64url) and its stored hash. */
export function newWebhookSecret(): { secret: Secret; hash: string } {
  const secret = new Secret(randomBytes(32).toString('base64url'));
  return { secret, hash: hashWebhookSecret(secret) };
}

/** `<base>/<orgId>/<secret>`, as a Secret: it authenticates whoever posts to it. */
export function webhookUrl(baseUrl: string, orgId: string, secret: Secret): Secret {
  return new Secret(`${baseUrl}/${encodeURIComponent(orgId)}/${secret.reveal()}`);
}

/** The same URL with the secret replaced, safe to show any number of times. */
export function maskedWebhookUrl(baseUrl: string, orgId: string): string {
  return `${baseUrl}/${encodeURIComponent(orgId)}/<secret>`;
}

/**
 * Whether `url` is this org's webhook URL with a secret valid now (`hashes` from
 * `findWebhookAuth`). The URL's base must be ours and the org must match.
 */
export function checkWebhookUrl(
  url: Secret,
  baseUrl: string,
  orgId: string,
  hashes: readonly string[],
): 'valid' | 'invalid' | 'foreign' {
  const prefix = `${baseUrl}/${encodeURIComponent(orgId)}/`;
  const text = url.reveal().trim();
  if (!text.startsWith(prefix)) return 'foreign';
  const secret = new Secret(text.slice(prefix.length).replace(/\/+$/, ''));
  return verifyWebhookSecret(secret, hashes) ? 'valid' : 'invalid';
}
