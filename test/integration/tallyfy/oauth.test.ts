import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { loadConfig } from '../../../shared/config.ts';
import { Secret } from '../../../shared/secret.ts';
import { tallyfyOAuthOptions } from '../../../shared/tallyfy/from-config.ts';
import {
  classifyGrantError,
  clientCredentialsGrant,
  closeSharedDispatchers,
  mintAppUserToken,
  OAuthError,
  type OAuthOptions,
  passwordGrant,
  probeTokenEndpoint,
  refreshTokenGrant,
  resolveTokenUrl,
  tallyfyOAuth,
  validatePersonalAccessToken,
} from '../../../shared/tallyfy/index.ts';

const NOW = Date.parse('2026-11-22T12:00:00.000Z');

async function failure(promise: Promise<unknown>): Promise<OAuthError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OAuthError);
  return err as OAuthError;
}

describe('Tallyfy OAuth against the sandbox', () => {
  let sandbox: StartedSandbox;
  let legacy: StartedSandbox;
  const sleeps: number[] = [];
  let opts: OAuthOptions;
  let client: { clientId: string; clientSecret: Secret };
  let user: { username: string; password: Secret };

  beforeAll(async () => {
    sandbox = await startSandbox({ clock: () => NOW, accessTokenLifetimeSeconds: 1234 });
    legacy = await startSandbox({ clock: () => NOW, refreshTokenReuse: 'invalid_request_401' });
    opts = {
      baseUrl: sandbox.url,
      tokenUrl: sandbox.tokenUrl,
      clock: () => NOW,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    };
    client = {
      clientId: sandbox.demo.passwordClient.clientId,
      clientSecret: new Secret(sandbox.demo.passwordClient.clientSecret),
    };
    user = {
      username: sandbox.demo.admin.email,
      password: new Secret(sandbox.demo.admin.password),
    };
  });
  beforeEach(() => {
    sandbox.clearFaults();
    sleeps.length = 0;
  });
  afterAll(async () => {
    await sandbox.close();
    await legacy.close();
    await closeSharedDispatchers();
  });

  test('password grant returns a validated TokenSet whose expiry comes from expires_in', async () => {
    const tokens = await passwordGrant({ ...client, ...user }, opts);
    expect(tokens.tokenType.toLowerCase()).toBe('bearer');
    expect(tokens.expiresInSeconds).toBe(1234);
    expect(tokens.obtainedAt).toBe('2026-11-22T12:00:00.000Z');
    expect(tokens.expiresAt).toBe(new Date(NOW + 1234_000).toISOString());
    expect(tokens.accessToken).toBeInstanceOf(Secret);
    expect(tokens.refreshToken).toBeInstanceOf(Secret);
    expect(JSON.stringify(tokens)).not.toContain(tokens.accessToken.reveal());
  });

  test('refresh grant rotates: the new refresh token works, the old one is TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED (400 invalid_grant)', async () => {
    const first = await passwordGrant({ ...client, ...user }, opts);
    const second = await refreshTokenGrant(
      { ...client, refreshToken: first.refreshToken as Secret },
      opts,
    );
    expect(second.refreshToken?.equals(first.refreshToken)).toBe(false);
    const err = await failure(
      refreshTokenGrant({ ...client, refreshToken: first.refreshToken as Secret }, opts),
    );
    expect(err.code).toBe('TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED');
    expect(err.status).toBe(400);
    expect(err.oauthError).toBe('invalid_grant');
    expect(err.needsReauth).toBe(true);
    expect(err.refreshTokenRejected).toBe(true);
    expect(err.message).toContain('password grant');
    expect(classifyGrantError(err)).toMatchObject({
      code: 'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED',
      refreshTokenRejected: true,
    });
    await refreshTokenGrant({ ...client, refreshToken: second.refreshToken as Secret }, opts);
  });

  test("older Passport's 401 invalid_request for a spent refresh token is TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED too", async () => {
    const o = { ...opts, baseUrl: legacy.url, tokenUrl: legacy.tokenUrl };
    const c = {
      clientId: legacy.demo.passwordClient.clientId,
      clientSecret: new Secret(legacy.demo.passwordClient.clientSecret),
    };
    const first = await passwordGrant(
      { ...c, username: legacy.demo.admin.email, password: new Secret(legacy.demo.admin.password) },
      o,
    );
    await refreshTokenGrant({ ...c, refreshToken: first.refreshToken as Secret }, o);
    const err = await failure(
      refreshTokenGrant({ ...c, refreshToken: first.refreshToken as Secret }, o),
    );
    expect(err.status).toBe(401);
    expect(err.oauthError).toBe('invalid_request');
    expect(err.code).toBe('TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED');
    expect(err.needsReauth).toBe(true);
  });

  test('a wrong password is TALLYFY_OAUTH_CREDENTIALS_INVALID; a wrong client secret is TALLYFY_OAUTH_CLIENT_INVALID', async () => {
    const bad = await failure(
      passwordGrant({ ...client, ...user, password: new Secret('wrong-password-1') }, opts),
    );
    expect(bad).toMatchObject({
      code: 'TALLYFY_OAUTH_CREDENTIALS_INVALID',
      needsReauth: true,
      transient: false,
      kind: 'permanent',
    });
    expect(bad.message).toContain('username or password');
    const badClient = await failure(
      passwordGrant({ ...client, clientSecret: new Secret('wrong-client-secret'), ...user }, opts),
    );
    expect(badClient).toMatchObject({
      code: 'TALLYFY_OAUTH_CLIENT_INVALID',
      status: 401,
      needsReauth: true,
    });
    expect(badClient.message).toContain('Tallyfy Support');
  });

  test('client credentials grant (scope *) and an app-minted user token', async () => {
    const app = await clientCredentialsGrant(
      {
        clientId: sandbox.demo.appClient.clientId,
        clientSecret: new Secret(sandbox.demo.appClient.clientSecret),
      },
      opts,
    );
    expect(app.refreshToken).toBeUndefined();
    const minted = await mintAppUserToken(
      { appToken: app.accessToken, orgId: sandbox.demo.orgId, email: sandbox.demo.buyer.email },
      opts,
    );
    expect(minted.expiresInSeconds).toBeGreaterThan(0);
    const me = await validatePersonalAccessToken(minted.accessToken, opts);
    expect(me.id).toBe(sandbox.demo.buyer.id);
    const unknown = await failure(
      mintAppUserToken(
        { appToken: app.accessToken, orgId: sandbox.demo.orgId, email: 'nobody@example.test' },
        opts,
      ),
    );
    expect(unknown.code).toBe('TALLYFY_OAUTH_USER_NOT_FOUND');
    const rejected = await failure(
      mintAppUserToken(
        {
          appToken: new Secret('bogus-app-token'),
          orgId: sandbox.demo.orgId,
          email: sandbox.demo.buyer.email,
        },
        opts,
      ),
    );
    expect(rejected.code).toBe('TALLYFY_OAUTH_TOKEN_REJECTED');
  });

  test('a personal access token validates with GET /me and is TALLYFY_OAUTH_TOKEN_REJECTED after its user logs out', async () => {
    const pat = new Secret(sandbox.issuePersonalAccessToken(sandbox.demo.standard.id));
    const oauth = tallyfyOAuth(opts);
    expect((await oauth.validatePersonalAccessToken(pat)).id).toBe(sandbox.demo.standard.id);
    sandbox.revokeUserTokens(sandbox.demo.standard.id);
    const err = await failure(oauth.validatePersonalAccessToken(pat));
    expect(err).toMatchObject({
      code: 'TALLYFY_OAUTH_TOKEN_REJECTED',
      needsReauth: true,
      status: 401,
    });
    expect(err.message).toContain('logged out of the web app');
  });

  test('a 5xx from the token endpoint is transient and not retried', async () => {
    sandbox.injectFault({ path: '/oauth/token', status: 503, times: 1 });
    const before = sandbox.stats().faultsInjected;
    const err = await failure(passwordGrant({ ...client, ...user }, opts));
    expect(err).toMatchObject({
      code: 'TALLYFY_SERVER_ERROR',
      transient: true,
      needsReauth: false,
      retryable: true,
    });
    expect(err.attempts).toBe(1);
    expect(sandbox.stats().faultsInjected - before).toBe(1);
    expect(classifyGrantError(err).needsReauth).toBe(false);
  });

  test('a reset connection on the token endpoint is a transient TALLYFY_NETWORK_ERROR, not retried', async () => {
    sandbox.injectFault({ path: '/oauth/token', kind: 'reset', times: 1 });
    const err = await failure(passwordGrant({ ...client, ...user }, opts));
    expect(err).toMatchObject({ code: 'TALLYFY_NETWORK_ERROR', transient: true, attempts: 1 });
  });

  test('a hanging token endpoint times out as a transient TALLYFY_NETWORK_ERROR', async () => {
    sandbox.injectFault({ path: '/oauth/token', kind: 'hang', times: 1 });
    const err = await failure(
      passwordGrant({ ...client, ...user }, { ...opts, headersTimeoutMs: 100 }),
    );
    expect(err).toMatchObject({ code: 'TALLYFY_NETWORK_ERROR', transient: true });
  });

  test('a 429 on the token endpoint waits Retry-After and then succeeds', async () => {
    sandbox.injectFault({ path: '/oauth/token', status: 429, retryAfterSeconds: 2, times: 1 });
    const tokens = await passwordGrant({ ...client, ...user }, opts);
    expect(tokens.accessToken.reveal().length).toBeGreaterThan(0);
    expect(sleeps).toEqual([2000]);
    sandbox.injectFault({ path: '/oauth/token', status: 429, retryAfterSeconds: 3 });
    const err = await failure(
      passwordGrant({ ...client, ...user }, { ...opts, retry: { maxRetries: 1 } }),
    );
    expect(err).toMatchObject({
      code: 'TALLYFY_RATE_LIMITED',
      transient: true,
      retryAfterMs: 3000,
      attempts: 2,
    });
  });

  test('a refresh grant that may have reached Tallyfy is never repeated: one attempt on 5xx or a reset', async () => {
    const grant = await passwordGrant({ ...client, ...user }, opts);
    const refreshToken = grant.refreshToken as Secret;
    for (const fault of [{ status: 502 }, { kind: 'reset' as const }]) {
      const before = sandbox.stats().faultsInjected;
      sandbox.injectFault({ path: '/oauth/token', times: 1, ...fault });
      const err = await failure(refreshTokenGrant({ ...client, refreshToken }, opts));
      expect(err).toMatchObject({ transient: true, needsReauth: false, attempts: 1 });
      expect(sandbox.stats().faultsInjected - before).toBe(1);
    }
    expect(sleeps).toEqual([]);
    // the fault answered before the grant ran: the refresh token was not spent
    const next = await refreshTokenGrant({ ...client, refreshToken }, opts);
    expect(next.refreshToken?.reveal()).not.toBe(refreshToken.reveal());
  });

  test('a token request whose connection was never made is retried with the client policy, then fails as TALLYFY_NETWORK_ERROR', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(
      refreshTokenGrant(
        { ...client, refreshToken: new Secret('never-sent') },
        {
          ...opts,
          baseUrl: `http://127.0.0.1:${port}/api`,
          tokenUrl: `http://127.0.0.1:${port}/oauth/token`,
          random: () => 0.5,
          retry: { maxRetries: 2 },
        },
      ),
    );
    expect(err).toMatchObject({ code: 'TALLYFY_NETWORK_ERROR', transient: true, attempts: 3 });
    expect(sleeps).toEqual([500, 1000]);
  });

  test('GET /me is idempotent: a 503 while validating a personal access token is retried', async () => {
    const pat = new Secret(sandbox.issuePersonalAccessToken(sandbox.demo.standard.id));
    sandbox.injectFault({ path: '/me', status: 503, times: 1 });
    const me = await validatePersonalAccessToken(pat, { ...opts, random: () => 0.5 });
    expect(me.id).toBe(sandbox.demo.standard.id);
    expect(sleeps).toEqual([500]);
  });

  test('the Retry-After cap of the shared policy applies to token calls: a longer wait is handed back', async () => {
    sandbox.injectFault({ path: '/oauth/token', status: 429, retryAfterSeconds: 120, times: 1 });
    const err = await failure(
      passwordGrant({ ...client, ...user }, { ...opts, retry: { retryAfterCapMs: 5000 } }),
    );
    expect(err).toMatchObject({
      code: 'TALLYFY_RATE_LIMITED',
      transient: true,
      retryAfterMs: 120_000,
      attempts: 1,
    });
    expect(sleeps).toEqual([]);
    // within the cap it is waited out
    sandbox.injectFault({ path: '/oauth/token', status: 429, retryAfterSeconds: 4, times: 1 });
    await passwordGrant({ ...client, ...user }, { ...opts, retry: { retryAfterCapMs: 5000 } });
    expect(sleeps).toEqual([4000]);
  });

  test("the API client's configured settings drive the token calls too (one retry policy)", async () => {
    const config = loadConfig(['tallyfy'], {
      TALLYFY_BASE_URL: sandbox.url,
      TALLYFY_TOKEN_URL: sandbox.tokenUrl,
      HTTP_MAX_RETRIES: '1',
      HTTP_RETRY_AFTER_CAP_SECONDS: '1',
    });
    sandbox.injectFault({ path: '/oauth/token', status: 429, retryAfterSeconds: 1, times: 2 });
    const oauth = tallyfyOAuth({
      ...tallyfyOAuthOptions(config.tallyfy),
      clock: opts.clock,
      sleep: opts.sleep,
    });
    const err = await failure(oauth.passwordGrant({ ...client, ...user }));
    // HTTP_MAX_RETRIES=1: one wait of Retry-After (within HTTP_RETRY_AFTER_CAP_SECONDS=1)
    expect(err).toMatchObject({ code: 'TALLYFY_RATE_LIMITED', attempts: 2, retryAfterMs: 1000 });
    expect(sleeps).toEqual([1000]);
    // a wait beyond the configured cap is not waited at all
    sandbox.injectFault({ path: '/oauth/token', status: 429, retryAfterSeconds: 5, times: 1 });
    sleeps.length = 0;
    const long = await failure(oauth.passwordGrant({ ...client, ...user }));
    expect(long).toMatchObject({ attempts: 1, retryAfterMs: 5000 });
    expect(sleeps).toEqual([]);
  });

  test('a token answer missing a field is TALLYFY_RESPONSE_INVALID, and the fields are named', async () => {
    sandbox.injectFault({
      path: '/oauth/token',
      status: 200,
      body: { token_type: 'Bearer', access_token: 'x' },
      times: 1,
    });
    const err = await failure(passwordGrant({ ...client, ...user }, opts));
    expect(err.code).toBe('TALLYFY_RESPONSE_INVALID');
    expect(err.message).toContain('expires_in');
  });

  test('grants go to the token URL, an origin other than the API: the API base has none', async () => {
    expect(new URL(sandbox.tokenUrl).origin).not.toBe(new URL(sandbox.url).origin);
    await expect(passwordGrant({ ...client, ...user }, opts)).resolves.toMatchObject({
      tokenType: 'Bearer',
    });
    // a token URL derived as `${apiBase}/oauth/token` reaches an API route: never a token, and
    // never a reason to re-authorise (the credentials are fine, the URL is not)
    const before = sandbox.stats().grants.password ?? 0;
    const err = await failure(
      passwordGrant({ ...client, ...user }, { ...opts, tokenUrl: `${sandbox.url}/oauth/token` }),
    );
    expect(err).toMatchObject({
      code: 'TALLYFY_OAUTH_ENDPOINT_INVALID',
      needsReauth: false,
      transient: false,
      status: 401,
    });
    expect(err.message).toContain('TALLYFY_TOKEN_URL');
    expect(err.message).not.toContain(user.password.reveal());
    expect(sandbox.stats().grants.password ?? 0).toBe(before);
    expect(classifyGrantError(err)).toMatchObject({ needsReauth: false });
  });

  test('without a token URL, an API base that is not a Tallyfy host is a programming error', () => {
    expect(() => resolveTokenUrl({ baseUrl: sandbox.url })).toThrow(/TALLYFY_TOKEN_URL/);
    expect(resolveTokenUrl({ baseUrl: 'https://go.tallyfy.com/api' })).toBe(
      'https://account.tallyfy.com/oauth/token',
    );
    expect(resolveTokenUrl({})).toBe('https://account.tallyfy.com/oauth/token');
    expect(resolveTokenUrl({ baseUrl: 'https://api.tallyfy.com' })).toBe(
      'https://account.tallyfy.com/oauth/token',
    );
    expect(resolveTokenUrl({ baseUrl: 'https://staging.go.tallyfy.com/api' })).toBe(
      'https://staging.account.tallyfy.com/oauth/token',
    );
    expect(resolveTokenUrl({ baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl })).toBe(
      sandbox.tokenUrl,
    );
  });

  test('the token URL of one call (an org’s own) replaces the bound one', async () => {
    const oauth = tallyfyOAuth({ ...opts, tokenUrl: `${sandbox.url}/oauth/token` });
    expect(oauth.tokenUrl()).toBe(`${sandbox.url}/oauth/token`);
    await expect(
      oauth.passwordGrant({ ...client, ...user }, { tokenUrl: sandbox.tokenUrl }),
    ).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  test('probeTokenEndpoint tells a token endpoint from an API route, a 404 and a closed port, spending nothing', async () => {
    const grants = JSON.stringify(sandbox.stats().grants);
    expect(await probeTokenEndpoint({ tokenUrl: sandbox.tokenUrl })).toMatchObject({
      ok: true,
      status: 400,
      oauthError: 'invalid_request',
    });
    expect(await probeTokenEndpoint({ tokenUrl: `${sandbox.url}/oauth/token` })).toMatchObject({
      ok: false,
      reason: 'not_oauth',
      status: 401,
    });
    expect(
      await probeTokenEndpoint({ tokenUrl: `${sandbox.tokenOrigin}/api/oauth/token` }),
    ).toMatchObject({ ok: false, reason: 'not_oauth', status: 404 });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = await probeTokenEndpoint({
      tokenUrl: `http://127.0.0.1:${port}/oauth/token`,
      sleep: opts.sleep,
    });
    expect(gone).toMatchObject({ ok: false, reason: 'network' });
    expect(sleeps).toEqual([]);
    expect(JSON.stringify(sandbox.stats().grants)).toBe(grants);
  });

  test('errors that are not OAuthErrors classify as transient', () => {
    expect(classifyGrantError(new Error('boom'))).toMatchObject({
      needsReauth: false,
      refreshTokenRejected: false,
    });
  });
});
