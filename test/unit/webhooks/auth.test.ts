import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import {
  cachedWebhookAuthLookup,
  hashWebhookSecret,
  verifyWebhookSecret,
  type WebhookAuth,
} from '../../../shared/webhooks/index.ts';
import { activeOrg, mapAuthLookup, OTHER_SECRET_TEXT, SECRET_TEXT } from './support.ts';

const secret = new Secret(SECRET_TEXT);
const hash = (text: string) => createHash('sha256').update(text).digest('hex');

describe('URL secret hashes', () => {
  test('the stored form is the SHA-256 hex of the secret', () => {
    expect(hashWebhookSecret(secret)).toBe(hash(SECRET_TEXT));
  });

  test('a secret matches when any valid hash is its own, in any position and case', () => {
    expect(verifyWebhookSecret(secret, [hash(SECRET_TEXT)])).toBe(true);
    expect(verifyWebhookSecret(secret, [hash(OTHER_SECRET_TEXT), hash(SECRET_TEXT)])).toBe(true);
    expect(verifyWebhookSecret(secret, [hash(SECRET_TEXT).toUpperCase()])).toBe(true);
  });

  test('a wrong secret, an empty list and malformed stored hashes never match', () => {
    expect(verifyWebhookSecret(secret, [hash(OTHER_SECRET_TEXT)])).toBe(false);
    expect(verifyWebhookSecret(secret, [])).toBe(false);
    expect(verifyWebhookSecret(secret, ['', 'zz', hash(SECRET_TEXT).slice(2)])).toBe(false);
  });
});

describe('cachedWebhookAuthLookup', () => {
  function setup(orgs: Record<string, WebhookAuth> = { org1: activeOrg() }) {
    let now = 1_000_000;
    const registry = mapAuthLookup(orgs);
    const clock = () => now;
    const advance = (ms: number) => {
      now += ms;
    };
    return { registry, clock, advance };
  }

  test('answers from memory for 30 s by default, then asks the registry again', async () => {
    const { registry, clock, advance } = setup();
    const cached = cachedWebhookAuthLookup(registry, { clock });
    await cached.findWebhookAuth('org1');
    advance(29_999);
    await cached.findWebhookAuth('org1');
    expect(registry.lookups).toBe(1);
    advance(1);
    expect(await cached.findWebhookAuth('org1')).toEqual(activeOrg());
    expect(registry.lookups).toBe(2);
  });

  test('remembers that an org is unknown too', async () => {
    const { registry, clock } = setup();
    const cached = cachedWebhookAuthLookup(registry, { clock, ttlMs: 5000 });
    expect(await cached.findWebhookAuth('nope')).toBeUndefined();
    expect(await cached.findWebhookAuth('nope')).toBeUndefined();
    expect(registry.lookups).toBe(1);
  });

  test('concurrent requests for one org share one registry read', async () => {
    const { registry, clock } = setup();
    const cached = cachedWebhookAuthLookup(registry, { clock });
    await Promise.all([1, 2, 3, 4].map(() => cached.findWebhookAuth('org1')));
    expect(registry.lookups).toBe(1);
  });

  test('a failed read is not remembered', async () => {
    const { clock } = setup();
    let calls = 0;
    const cached = cachedWebhookAuthLookup(
      {
        async findWebhookAuth() {
          calls++;
          if (calls === 1) throw new Error('throttled');
          return activeOrg();
        },
      },
      { clock },
    );
    await expect(cached.findWebhookAuth('org1')).rejects.toThrow('throttled');
    expect(await cached.findWebhookAuth('org1')).toEqual(activeOrg());
    expect(calls).toBe(2);
  });

  test('keeps at most maxEntries orgs, dropping the oldest', async () => {
    const { registry, clock } = setup();
    const cached = cachedWebhookAuthLookup(registry, { clock, maxEntries: 2 });
    for (const org of ['a', 'b', 'c']) await cached.findWebhookAuth(org);
    await cached.findWebhookAuth('c');
    await cached.findWebhookAuth('b');
    expect(registry.lookups).toBe(3);
    await cached.findWebhookAuth('a');
    expect(registry.lookups).toBe(4);
  });

  test('refuses a negative ttl or a non-positive size', () => {
    const { registry, clock } = setup();
    expect(() => cachedWebhookAuthLookup(registry, { clock, ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => cachedWebhookAuthLookup(registry, { clock, maxEntries: 0 })).toThrow(/maxEntries/);
  });
});
