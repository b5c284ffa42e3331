import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import { tallyfyOAuth } from '../../../shared/tallyfy/index.ts';
import { createTallyfyGrants, refreshDueOrgs, refreshOrg } from '../../../shared/tokens/index.ts';
import {
  liveRefreshToken,
  MINUTE,
  newOrgId,
  passwordCredentials,
  type RefresherEnv,
  registerOrg,
  spendRefreshToken,
  startRefresherEnv,
  tokenWorks,
} from './support.ts';

let env: RefresherEnv;

beforeAll(async () => {
  env = await startRefresherEnv('modes');
});

afterAll(async () => {
  await env?.close();
});

const grants = () => env.sandbox.stats().grants;

async function credentialsOf(orgId: string) {
  const credentials = await env.store.readCredentials(orgId);
  if (credentials.authMode !== 'password') throw new Error(`expected password credentials`);
  return credentials;
}

describe('password', () => {
  test('a due org is refreshed with its refresh token: rotated token stored first, token secret, org item', async () => {
    const orgId = newOrgId('pw');
    const initial = await liveRefreshToken(env);
    await registerOrg(env, orgId, passwordCredentials(env, orgId, { refreshToken: initial }));
    const before = grants();

    const summary = await refreshDueOrgs(env.deps(), { startJitterMs: 0 });

    expect(summary.results).toContainEqual(
      expect.objectContaining({ orgId, outcome: 'refreshed', grant: 'refresh_token' }),
    );
    expect(grants().refresh_token).toBe((before.refresh_token ?? 0) + 1);
    expect(grants().password).toBe(before.password);
    const credentials = await credentialsOf(orgId);
    expect(credentials.refreshToken?.equals(initial)).toBe(false);
    const token = await env.store.readToken(orgId);
    expect(token?.grantId).toBe(credentials.lastGrant?.grantId);
    expect(token?.accessToken.equals(credentials.lastGrant?.accessToken)).toBe(true);
    expect(await tokenWorks(env, token?.accessToken ?? new Secret('none'))).toBe(true);
    const org = await env.registry.getOrg(orgId);
    expect(org).toMatchObject({
      status: 'active',
      consecutiveFailures: 0,
      tokenExpiresAt: token?.expiresAt,
    });
    expect(org?.lease).toBeUndefined();
    // due inside the margin (15 min of a 1-hour token), jittered up to a minute earlier
    const dueMs = Date.parse(org?.refreshDueAt ?? '') - env.clock();
    expect(dueMs).toBeGreaterThan(44 * MINUTE);
    expect(dueMs).toBeLessThanOrEqual(45 * MINUTE);

    // not due: the next run leaves it alone; 46 minutes later it rotates again
    const idle = await refreshDueOrgs(env.deps(), { startJitterMs: 0 });
    expect(idle.results.map((r) => r.orgId)).not.toContain(orgId);
    env.clock.advance(46 * MINUTE);
    const again = await refreshOrg(env.deps(), orgId);
    expect(again).toMatchObject({ outcome: 'refreshed', grant: 'refresh_token' });
    expect(grants().refresh_token).toBe((before.refresh_token ?? 0) + 2);
    expect(
      await tokenWorks(env, (await env.store.readToken(orgId))?.accessToken ?? new Secret('x')),
    ).toBe(true);
  });

  test('a rejected (spent) refresh token falls back to the password grant', async () => {
    const orgId = newOrgId('pwfallback');
    const spent = await liveRefreshToken(env);
    await spendRefreshToken(env, spent);
    await registerOrg(env, orgId, passwordCredentials(env, orgId, { refreshToken: spent }));
    const before = env.sandbox.stats();

    const result = await refreshOrg(env.deps(), orgId);

    expect(result).toMatchObject({ outcome: 'refreshed', grant: 'password' });
    expect(env.sandbox.stats().refreshTokenReuseRejected).toBe(
      before.refreshTokenReuseRejected + 1,
    );
    expect(grants().password).toBe((before.grants.password ?? 0) + 1);
    const token = await env.store.readToken(orgId);
    expect(await tokenWorks(env, token?.accessToken ?? new Secret('x'))).toBe(true);
    expect((await credentialsOf(orgId)).refreshToken?.equals(spent)).toBe(false);
    expect((await env.registry.getOrg(orgId))?.status).toBe('active');
    expect(env.sink.records()).toContainEqual(
      expect.objectContaining({
        message: 'refresh token rejected; falling back to the password grant',
        orgId,
        code: 'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED',
      }),
    );
  });

  test('a rejected refresh token without a stored password marks the org needs_reauth at once', async () => {
    const orgId = newOrgId('pwnofallback');
    const spent = await liveRefreshToken(env);
    await spendRefreshToken(env, spent);
    await registerOrg(
      env,
      orgId,
      passwordCredentials(env, orgId, { refreshToken: spent, login: false }),
    );
    const passwordGrants = grants().password;

    const result = await refreshOrg(env.deps(), orgId);

    expect(result).toMatchObject({
      outcome: 'failed',
      code: 'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED',
      needsReauth: true,
    });
    expect(grants().password).toBe(passwordGrants);
    const org = await env.registry.getOrg(orgId);
    expect(org).toMatchObject({ status: 'needs_reauth', consecutiveFailures: 1 });
    expect(org?.lastError?.code).toBe('TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED');
    expect(org?.refreshDueAt).toBeUndefined();
    // out of the index and refused on demand: no retry storm on dead credentials
    env.clock.advance(60 * MINUTE);
    expect((await env.registry.queryDue(new Date(env.clock()).toISOString())).orgIds).not.toContain(
      orgId,
    );
    expect(await refreshOrg(env.deps(), orgId, { force: true })).toEqual({
      orgId,
      outcome: 'skipped',
      reason: 'needs_reauth',
    });
  });

  test('an org registered with username and password only gets its first token from the password grant', async () => {
    const orgId = newOrgId('pwfirst');
    await registerOrg(env, orgId, passwordCredentials(env, orgId));
    const result = await refreshOrg(env.deps(), orgId);
    expect(result).toMatchObject({ outcome: 'refreshed', grant: 'password' });
    expect((await credentialsOf(orgId)).refreshToken).toBeInstanceOf(Secret);
  });

  test('a transient Tallyfy failure keeps the refresh token and retries with back-off, not needs_reauth', async () => {
    const orgId = newOrgId('pw500');
    const live = await liveRefreshToken(env);
    await registerOrg(env, orgId, passwordCredentials(env, orgId, { refreshToken: live }));
    const remove = env.sandbox.injectFault({ path: '/oauth/token', status: 503, times: 1 });
    const now = env.clock();

    const result = await refreshOrg(env.deps(), orgId);
    remove();

    expect(result).toMatchObject({
      outcome: 'failed',
      code: 'TALLYFY_SERVER_ERROR',
      needsReauth: false,
    });
    const org = await env.registry.getOrg(orgId);
    expect(org).toMatchObject({ status: 'active', consecutiveFailures: 1 });
    const retryMs = Date.parse(org?.refreshDueAt ?? '') - now;
    expect(retryMs).toBeGreaterThanOrEqual(48_000);
    expect(retryMs).toBeLessThanOrEqual(72_000);
    expect((await credentialsOf(orgId)).refreshToken?.equals(live)).toBe(true);
    env.clock.advance(2 * MINUTE);
    expect(await refreshOrg(env.deps(), orgId)).toMatchObject({
      outcome: 'refreshed',
      grant: 'refresh_token',
    });
    expect(await env.registry.getOrg(orgId)).toMatchObject({ consecutiveFailures: 0 });
    expect((await env.registry.getOrg(orgId))?.lastError).toBeUndefined();
  });

  test('a forced refresh of a token obtained seconds ago is single-flighted away; an older one is refreshed', async () => {
    const orgId = newOrgId('pwforce');
    await registerOrg(env, orgId, passwordCredentials(env, orgId));
    await refreshOrg(env.deps(), orgId);
    const before = grants();
    env.clock.advance(30_000);
    expect(await refreshOrg(env.deps(), orgId, { force: true })).toMatchObject({
      outcome: 'fresh',
    });
    expect(grants()).toEqual(before);
    env.clock.advance(MINUTE);
    expect(await refreshOrg(env.deps(), orgId, { force: true })).toMatchObject({
      outcome: 'refreshed',
      grant: 'refresh_token',
    });
  });
});

describe('client_credentials', () => {
  test('is re-granted and stores one secret write (no refresh token to keep)', async () => {
    const orgId = newOrgId('cc');
    const { appClient } = env.sandbox.demo;
    await registerOrg(env, orgId, {
      authMode: 'client_credentials',
      orgId,
      clientId: appClient.clientId,
      clientSecret: new Secret(appClient.clientSecret),
    });
    env.sm.resetStats();
    const result = await refreshOrg(env.deps(), orgId);
    expect(result).toMatchObject({ outcome: 'refreshed', grant: 'client_credentials' });
    expect(env.sm.stats().byOperation.PutSecretValue).toBe(1);
    const token = await env.store.readToken(orgId);
    expect(token?.authMode).toBe('client_credentials');
    expect(await tokenWorks(env, token?.accessToken ?? new Secret('x'), 'app')).toBe(true);
  });

  test('a rejected client secret fails once, then marks needs_reauth on the second failure', async () => {
    const orgId = newOrgId('ccbad');
    await registerOrg(env, orgId, {
      authMode: 'client_credentials',
      orgId,
      clientId: env.sandbox.demo.appClient.clientId,
      clientSecret: new Secret('not-the-client-secret'),
    });
    const first = await refreshOrg(env.deps(), orgId);
    expect(first).toMatchObject({
      outcome: 'failed',
      code: 'TALLYFY_OAUTH_CLIENT_INVALID',
      needsReauth: false,
    });
    expect((await env.registry.getOrg(orgId))?.status).toBe('active');
    env.clock.advance(5 * MINUTE);
    const second = await refreshOrg(env.deps(), orgId);
    expect(second).toMatchObject({
      outcome: 'failed',
      code: 'TALLYFY_OAUTH_CLIENT_INVALID',
      needsReauth: true,
    });
    const org = await env.registry.getOrg(orgId);
    expect(org).toMatchObject({ status: 'needs_reauth', consecutiveFailures: 2 });
    expect(org?.lastError?.message).not.toContain('not-the-client-secret');
  });
});

describe('personal_access_token', () => {
  test('is validated with GET /me, stored as the token, issuedAt recorded, checked again daily', async () => {
    const orgId = newOrgId('pat');
    const pat = new Secret(env.sandbox.issuePersonalAccessToken(env.sandbox.demo.standard.id));
    await registerOrg(env, orgId, { authMode: 'personal_access_token', orgId, token: pat });
    const meCalls = () => env.sandbox.stats().requests['GET /me'] ?? 0;
    const before = meCalls();

    const result = await refreshOrg(env.deps(), orgId);

    expect(result).toMatchObject({ outcome: 'refreshed', grant: 'personal_access_token' });
    expect(meCalls()).toBe(before + 1);
    const token = await env.store.readToken(orgId);
    expect(token?.accessToken.equals(pat)).toBe(true);
    const credentials = await env.store.readCredentials(orgId);
    expect(credentials.authMode === 'personal_access_token' && credentials.issuedAt).toBe(
      new Date(env.clock()).toISOString(),
    );
    expect(Date.parse(token?.expiresAt ?? '') - env.clock()).toBe(182 * 86_400_000);
    const org = await env.registry.getOrg(orgId);
    expect(Date.parse(org?.refreshDueAt ?? '') - env.clock()).toBeLessThanOrEqual(86_400_000);
    expect(Date.parse(org?.refreshDueAt ?? '') - env.clock()).toBeGreaterThan(86_340_000);

    // next day: checked again, nothing to rewrite
    env.clock.advance(86_400_000);
    env.sm.resetStats();
    expect(await refreshOrg(env.deps(), orgId)).toMatchObject({ outcome: 'refreshed' });
    expect(meCalls()).toBe(before + 2);
    expect(env.sm.stats().byOperation.PutSecretValue ?? 0).toBe(0);
  });

  test('warns ahead of the documented 6-month expiry', async () => {
    const orgId = newOrgId('patold');
    const pat = new Secret(env.sandbox.issuePersonalAccessToken(env.sandbox.demo.standard.id));
    const issuedAt = new Date(env.clock() - 175 * 86_400_000).toISOString();
    await registerOrg(env, orgId, {
      authMode: 'personal_access_token',
      orgId,
      token: pat,
      issuedAt,
    });
    env.sink.clear();
    expect(await refreshOrg(env.deps(), orgId)).toMatchObject({ outcome: 'refreshed' });
    expect(env.sink.records()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: expect.stringContaining('personal access token expires soon'),
        orgId,
        daysLeft: 7,
      }),
    );
  });

  test('a rejected PAT (its user logged out) marks the org needs_reauth at once', async () => {
    const orgId = newOrgId('patdead');
    const user = env.sandbox.demo.buyer.id;
    const pat = new Secret(env.sandbox.issuePersonalAccessToken(user));
    await registerOrg(env, orgId, { authMode: 'personal_access_token', orgId, token: pat });
    env.sandbox.revokeUserTokens(user);
    const result = await refreshOrg(env.deps(), orgId);
    expect(result).toMatchObject({
      outcome: 'failed',
      code: 'TALLYFY_OAUTH_TOKEN_REJECTED',
      needsReauth: true,
    });
    expect((await env.registry.getOrg(orgId))?.status).toBe('needs_reauth');
  });
});

describe('app_user_token', () => {
  test('is re-minted with a fresh app token (client_credentials then the applications endpoint)', async () => {
    // the applications endpoint names the Tallyfy organisation: the org id is the demo org's
    const orgId = env.sandbox.demo.orgId;
    const { appClient, standard } = env.sandbox.demo;
    await registerOrg(env, orgId, {
      authMode: 'app_user_token',
      orgId,
      appClientId: appClient.clientId,
      appClientSecret: new Secret(appClient.clientSecret),
      email: standard.email,
    });
    const before = grants();
    const result = await refreshOrg(env.deps(), orgId);
    expect(result).toMatchObject({ outcome: 'refreshed', grant: 'app_user_token' });
    expect(grants().app_user).toBe((before.app_user ?? 0) + 1);
    expect(grants().client_credentials).toBe((before.client_credentials ?? 0) + 1);
    const token = await env.store.readToken(orgId);
    expect(token?.authMode).toBe('app_user_token');
    expect(await tokenWorks(env, token?.accessToken ?? new Secret('x'))).toBe(true);
  });
});

describe('token URL', () => {
  test("an org's own tokenUrl takes its grants; without one a wrong deployment URL fails as a URL problem, never needs_reauth", async () => {
    // the deployment's token URL derived as `${apiBase}/oauth/token`: an API route, no token
    const wrong = createTallyfyGrants(
      tallyfyOAuth({
        baseUrl: env.sandbox.url,
        tokenUrl: `${env.sandbox.url}/oauth/token`,
        clock: env.clock,
      }),
    );
    const own = newOrgId('own-url');
    const plain = newOrgId('no-url');
    await registerOrg(env, own, passwordCredentials(env, own), { tokenUrl: env.sandbox.tokenUrl });
    await registerOrg(env, plain, passwordCredentials(env, plain));
    const before = grants().password ?? 0;

    const ok = await refreshOrg(env.deps({ grants: wrong }), own, { force: true });
    expect(ok).toMatchObject({ outcome: 'refreshed', grant: 'password' });
    expect(grants().password).toBe(before + 1);

    for (const attempt of [1, 2]) {
      const failed = await refreshOrg(env.deps({ grants: wrong }), plain, { force: true });
      expect(failed).toMatchObject({
        outcome: 'failed',
        code: 'TALLYFY_OAUTH_ENDPOINT_INVALID',
        needsReauth: false,
      });
      const org = await env.registry.getOrg(plain);
      expect(org).toMatchObject({ status: 'active', consecutiveFailures: attempt });
      expect(org?.lastError?.message).toContain('TALLYFY_TOKEN_URL');
      env.clock.advance(60 * MINUTE);
    }
    expect(grants().password).toBe(before + 1);
  });
});

describe('registry edges', () => {
  test('an unknown org is skipped, not an error', async () => {
    expect(await refreshOrg(env.deps(), 'org_nobody_here')).toEqual({
      orgId: 'org_nobody_here',
      outcome: 'skipped',
      reason: 'not_found',
    });
  });

  test('a missing credentials secret fails without a grant and is visible on the org item', async () => {
    const orgId = newOrgId('nosecret');
    await env.registry.createOrg({
      orgId,
      name: 'No secret',
      authMode: 'password',
      credentialsSecretId: `${env.prefix}/orgs/${orgId}/credentials`,
      tokenSecretId: `${env.prefix}/orgs/${orgId}/token`,
      webhookSecretHash: 'a'.repeat(64),
    });
    const result = await refreshOrg(env.deps(), orgId);
    expect(result).toMatchObject({
      outcome: 'failed',
      code: 'TOKENS_SECRET_NOT_FOUND',
      needsReauth: false,
    });
    expect((await env.registry.getOrg(orgId))?.lastError?.code).toBe('TOKENS_SECRET_NOT_FOUND');
  });
});

/** Spends a refresh token at the sandbox (as a lost response would have), so it is rejected next. */
