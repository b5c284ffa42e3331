import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import {
  createTokenProvider,
  type RefreshReason,
  type TokenProviderOptions,
  type TokenStoreError,
  TokenUnavailableError,
} from '../../../shared/tokens/index.ts';
import {
  type Harness,
  orgIdFor,
  passwordCredentials,
  requestToken,
  startHarness,
  tokenFor,
} from './support.ts';

const START = Date.parse('2026-11-22T12:00:00.000Z');
const HOUR = 3_600_000;
let h: Harness;

beforeAll(async () => {
  // A little latency so that concurrent lookups really overlap on the wire.
  h = await startHarness({ latencyMs: 5 });
});

afterAll(async () => {
  await h.close();
});

/** A registered org whose token secret holds `accessToken`, expiring `lifetimeMs` after START. */
async function orgWithToken(
  label: string,
  accessToken: string,
  lifetimeMs = HOUR,
): Promise<string> {
  const orgId = orgIdFor(label);
  await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
  await h.store.writeToken(orgId, tokenFor(orgId, accessToken, START + lifetimeMs, START), {
    clientRequestToken: requestToken(),
  });
  return orgId;
}

/** The refresher as the worker sees it: each request may store a new token for the org. */
function refresher(next: (orgId: string, reason: RefreshReason) => string | undefined) {
  const calls: { orgId: string; reason: RefreshReason }[] = [];
  const requestRefresh = async (orgId: string, reason: RefreshReason) => {
    calls.push({ orgId, reason });
    const accessToken = next(orgId, reason);
    if (accessToken === undefined) return;
    await h.store.writeToken(orgId, tokenFor(orgId, accessToken, START + 2 * HOUR, START), {
      clientRequestToken: requestToken(),
    });
  };
  return { calls, requestRefresh };
}

function provider(clock: () => number, overrides: Partial<TokenProviderOptions> = {}) {
  return createTokenProvider({
    store: h.store,
    clock,
    requestRefresh: refresher(() => undefined).requestRefresh,
    ...overrides,
  });
}

function smReads(): number {
  return h.sm.stats().byOperation.GetSecretValue ?? 0;
}

describe('token provider', () => {
  test('tells the client which tokens are app tokens, so their 401s are scope errors', async () => {
    const app = orgIdFor('scope-app');
    await h.store.createOrgSecrets(app, passwordCredentials(app));
    await h.store.writeToken(
      app,
      { ...tokenFor(app, 'app-token', START + HOUR, START), authMode: 'client_credentials' },
      { clientRequestToken: requestToken() },
    );
    const user = await orgWithToken('scope-user', 'user-token');
    const tokens = provider(() => START, { ttlMs: 0 });
    const appToken = await tokens.getToken(app);
    const userToken = await tokens.getToken(user);
    expect(tokens.forOrg(app).scopeOf(appToken)).toBe('app');
    expect(tokens.forOrg(user).scopeOf(userToken)).toBe('user');
    // a token this provider did not hand out for the org is not judged
    expect(tokens.forOrg(app).scopeOf(userToken)).toBeUndefined();
    expect(tokens.forOrg(app).scopeOf(new Secret('other'))).toBeUndefined();
  });

  test('reads each org once per TTL window, however many lookups', async () => {
    const orgIds = await Promise.all(
      ['a', 'b', 'c'].map((label) => orgWithToken(`ttl-${label}`, `token-${label}`, 24 * HOUR)),
    );
    let now = START;
    const tokens = provider(() => now);
    h.sm.resetStats();
    for (let i = 0; i < 30; i++) {
      const orgId = orgIds[i % orgIds.length] as string;
      now = START + i * 9_000; // 30 lookups spread over 261 s < 300 s
      expect((await tokens.getToken(orgId)).reveal()).toBe(`token-${'abc'[i % 3]}`);
    }
    expect(smReads()).toBe(3);
    expect(tokens.stats()).toEqual({ reads: 3, cacheHits: 27, refreshRequests: 0 });
    now = START + 300_000;
    await tokens.getToken(orgIds[0] as string);
    expect(smReads()).toBe(4);
  });

  test('a token is not served from the cache past expiresAt minus the skew', async () => {
    const orgId = await orgWithToken('skew', 'short-lived', 120_000); // expires START + 2 min
    let now = START;
    const tokens = provider(() => now, { skewMs: 60_000 });
    h.sm.resetStats();
    await tokens.getToken(orgId);
    now = START + 59_999;
    await tokens.getToken(orgId);
    expect(smReads()).toBe(1);
    now = START + 60_000;
    await tokens.getToken(orgId);
    expect(smReads()).toBe(2);
  });

  test('concurrent lookups for one org share a single read', async () => {
    const orgId = await orgWithToken('single-flight', 'shared');
    const tokens = provider(() => START);
    h.sm.resetStats();
    const results = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken(orgId)));
    expect(new Set(results.map((token) => token.reveal()))).toEqual(new Set(['shared']));
    expect(smReads()).toBe(1);
    expect(tokens.stats().reads).toBe(1);
  });

  test('after a 401, a rotated token in the secret is picked up without a refresh request', async () => {
    const orgId = await orgWithToken('rotated', 'old');
    const refresh = refresher(() => 'should-not-be-used');
    const auth = provider(() => START, { requestRefresh: refresh.requestRefresh }).forOrg(orgId);
    const rejected = await auth.getToken();
    await h.store.writeToken(orgId, tokenFor(orgId, 'new', START + 2 * HOUR, START), {
      clientRequestToken: requestToken(),
    });
    expect(await auth.getToken()).toBe(rejected); // still cached: the rotation is not seen yet
    expect(await auth.onUnauthorized(rejected)).toBe(true);
    expect((await auth.getToken()).reveal()).toBe('new');
    expect(refresh.calls).toEqual([]);
  });

  test('after a 401 with the token unchanged, a refresh is requested and its token is used', async () => {
    const orgId = await orgWithToken('unchanged', 'revoked');
    const refresh = refresher(() => 'refreshed');
    const auth = provider(() => START, { requestRefresh: refresh.requestRefresh }).forOrg(orgId);
    const rejected = await auth.getToken();
    expect(await auth.onUnauthorized(rejected)).toBe(true);
    expect((await auth.getToken()).reveal()).toBe('refreshed');
    expect(refresh.calls).toEqual([{ orgId, reason: 'unauthorized' }]);
  });

  test('after a 401 that no refresh cures, onUnauthorized answers false and re-checks soon', async () => {
    const orgId = await orgWithToken('dead', 'dead-token');
    let now = START;
    const refresh = refresher(() => undefined);
    const tokens = provider(() => now, {
      requestRefresh: refresh.requestRefresh,
      rejectedTtlMs: 10_000,
    });
    const rejected = await tokens.getToken(orgId);
    expect(await tokens.onUnauthorized(orgId, rejected)).toBe(false);
    expect(refresh.calls).toHaveLength(1);
    h.sm.resetStats();
    now = START + 9_999;
    await tokens.getToken(orgId);
    expect(smReads()).toBe(0);
    now = START + 10_000;
    await tokens.getToken(orgId);
    expect(smReads()).toBe(1);
  });

  test('many concurrent 401s for one org send one refresh request', async () => {
    const orgId = await orgWithToken('stampede', 'stale');
    const refresh = refresher(() => 'fresh');
    const tokens = provider(() => START, { requestRefresh: refresh.requestRefresh });
    const rejected = await tokens.getToken(orgId);
    h.sm.resetStats();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => tokens.onUnauthorized(orgId, rejected)),
    );
    expect(answers.every(Boolean)).toBe(true);
    expect(refresh.calls).toHaveLength(1);
    expect(smReads()).toBe(2);
  });

  test('a token already expired on read triggers a refresh request and the refreshed token is served', async () => {
    const orgId = await orgWithToken('expired', 'expired-token', HOUR);
    const refresh = refresher(() => 'after-expiry');
    const tokens = provider(() => START + HOUR, { requestRefresh: refresh.requestRefresh });
    expect((await tokens.getToken(orgId)).reveal()).toBe('after-expiry');
    expect(refresh.calls).toEqual([{ orgId, reason: 'expired' }]);
  });

  test('a token still expired after the refresh request fails with TOKENS_TOKEN_EXPIRED and no token', async () => {
    const orgId = await orgWithToken('expired-stuck', 'HUNTER2-expired', HOUR);
    const refresh = refresher(() => undefined);
    const tokens = provider(() => START + 2 * HOUR, { requestRefresh: refresh.requestRefresh });
    const error = await tokens.getToken(orgId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).code).toBe('TOKENS_TOKEN_EXPIRED');
    expect((error as TokenUnavailableError).expiresAt).toBe(new Date(START + HOUR).toISOString());
    expect(`${String(error)}${JSON.stringify(error)}${inspect(error)}`).not.toContain('HUNTER2');
  });

  test('an org without a token yet asks for one, and fails with TOKENS_TOKEN_MISSING when none comes', async () => {
    const orgId = orgIdFor('missing');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const failing = refresher(() => undefined);
    const tokens = provider(() => START, { requestRefresh: failing.requestRefresh });
    const error = await tokens.getToken(orgId).catch((e: unknown) => e);
    expect((error as TokenStoreError).code).toBe('TOKENS_TOKEN_MISSING');
    expect(failing.calls).toEqual([{ orgId, reason: 'missing' }]);

    const working = refresher(() => 'first-token');
    const healed = provider(() => START, { requestRefresh: working.requestRefresh });
    expect((await healed.getToken(orgId)).reveal()).toBe('first-token');
  });

  test('a failed refresh request is logged and becomes the cause of the error', async () => {
    const orgId = await orgWithToken('refresh-fails', 'old', HOUR);
    const warnings: { message: string; extra?: Record<string, unknown> }[] = [];
    const tokens = provider(() => START + 2 * HOUR, {
      requestRefresh: async () => {
        throw new Error('queue unavailable');
      },
      logger: {
        debug: () => {},
        warn: (message, extra) => warnings.push({ message, ...(extra ? { extra } : {}) }),
      },
    });
    const error = (await tokens.getToken(orgId).catch((e: unknown) => e)) as TokenStoreError;
    expect(error.code).toBe('TOKENS_TOKEN_EXPIRED');
    expect((error.cause as Error).message).toBe('queue unavailable');
    expect(warnings.map((w) => w.message)).toEqual(['token refresh request failed']);
  });

  test('an unknown org is an error, not a refresh request', async () => {
    const refresh = refresher(() => 'x');
    const tokens = provider(() => START, { requestRefresh: refresh.requestRefresh });
    const error = (await tokens
      .getToken(orgIdFor('nobody'))
      .catch((e: unknown) => e)) as TokenStoreError;
    expect(error.code).toBe('TOKENS_SECRET_NOT_FOUND');
    expect(refresh.calls).toEqual([]);
  });

  test('onUnauthorized with a token that is no longer cached answers true at once', async () => {
    const orgId = await orgWithToken('already-new', 'current');
    const tokens = provider(() => START);
    await tokens.getToken(orgId);
    h.sm.resetStats();
    expect(await tokens.onUnauthorized(orgId, new Secret('some-older-token'))).toBe(true);
    expect(smReads()).toBe(0);
  });
});
