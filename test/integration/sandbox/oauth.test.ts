import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { API_HEADERS, api, manualClock, passwordGrant, tokenRequest } from './support.ts';

describe('sandbox token endpoint', () => {
  const clock = manualClock();
  let sandbox: StartedSandbox;
  let legacy: StartedSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ clock: clock.now, accessTokenLifetimeSeconds: 3600 });
    legacy = await startSandbox({ refreshTokenReuse: 'invalid_request_401' });
  });
  afterAll(async () => {
    await sandbox.close();
    await legacy.close();
  });

  test('a form-encoded password grant answers Bearer, expires_in, access and refresh token', async () => {
    const { status, body } = await tokenRequest(sandbox, {
      grant_type: 'password',
      client_id: sandbox.demo.passwordClient.clientId,
      client_secret: sandbox.demo.passwordClient.clientSecret,
      username: sandbox.demo.admin.email,
      password: sandbox.demo.admin.password,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(typeof body.access_token).toBe('string');
    expect(typeof body.refresh_token).toBe('string');
    const me = await api(sandbox, 'GET', '/me', { token: body.access_token as string });
    expect(me.status).toBe(200);
    expect(me.body.data.id).toBe(sandbox.demo.admin.id);
  });

  test('the token endpoint has an origin of its own, as in production: none under the API base', async () => {
    expect(new URL(sandbox.tokenUrl).origin).not.toBe(new URL(sandbox.url).origin);
    expect(sandbox.tokenUrl).toBe(`${sandbox.tokenOrigin}/oauth/token`);
    const form = {
      grant_type: 'password',
      client_id: sandbox.demo.passwordClient.clientId,
      client_secret: sandbox.demo.passwordClient.clientSecret,
      username: sandbox.demo.admin.email,
      password: sandbox.demo.admin.password,
    };
    // a client that derives the token URL from the API base reaches an API route: 401, no token
    const derived = await fetch(`${sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-tallyfy-client': 'APIClient',
      },
      body: new URLSearchParams(form).toString(),
    });
    expect(derived.status).toBe(401);
    const answer = (await derived.json()) as Record<string, unknown>;
    expect(answer).toEqual({ message: 'Unauthenticated.' });
    expect(answer.access_token).toBeUndefined();
    // and the token origin serves nothing but the token endpoint
    const other = await fetch(`${sandbox.tokenOrigin}/api/me`, { headers: API_HEADERS });
    expect(other.status).toBe(404);
  });

  test('a JSON token request is refused with 400 invalid_request', async () => {
    const res = await fetch(sandbox.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'password',
        client_id: sandbox.demo.passwordClient.clientId,
        client_secret: sandbox.demo.passwordClient.clientSecret,
        username: sandbox.demo.admin.email,
        password: sandbox.demo.admin.password,
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  test('a missing grant parameter is 400 invalid_request', async () => {
    const { status, body } = await tokenRequest(sandbox, {
      grant_type: 'password',
      client_id: sandbox.demo.passwordClient.clientId,
      client_secret: sandbox.demo.passwordClient.clientSecret,
      username: sandbox.demo.admin.email,
    });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
  });

  test('a wrong client secret is 401 invalid_client; wrong user password is 400 invalid_grant', async () => {
    const badClient = await tokenRequest(sandbox, {
      grant_type: 'password',
      client_id: sandbox.demo.passwordClient.clientId,
      client_secret: 'nope',
      username: sandbox.demo.admin.email,
      password: sandbox.demo.admin.password,
    });
    expect(badClient.status).toBe(401);
    expect(badClient.body.error).toBe('invalid_client');
    const badUser = await tokenRequest(sandbox, {
      grant_type: 'password',
      client_id: sandbox.demo.passwordClient.clientId,
      client_secret: sandbox.demo.passwordClient.clientSecret,
      username: sandbox.demo.admin.email,
      password: 'wrong',
    });
    expect(badUser.status).toBe(400);
    expect(badUser.body.error).toBe('invalid_grant');
  });

  test('a refresh rotates: the old refresh and access tokens die, the new pair works', async () => {
    const first = await passwordGrant(sandbox);
    const { status, body } = await tokenRequest(sandbox, {
      grant_type: 'refresh_token',
      client_id: sandbox.demo.passwordClient.clientId,
      client_secret: sandbox.demo.passwordClient.clientSecret,
      refresh_token: first.refresh_token,
    });
    expect(status).toBe(200);
    expect(body.refresh_token).not.toBe(first.refresh_token);
    expect((await api(sandbox, 'GET', '/me', { token: first.access_token })).status).toBe(401);
    expect((await api(sandbox, 'GET', '/me', { token: body.access_token as string })).status).toBe(
      200,
    );
  });

  test('reusing a spent refresh token is 400 invalid_grant and counted', async () => {
    const first = await passwordGrant(sandbox);
    const refresh = {
      grant_type: 'refresh_token',
      client_id: sandbox.demo.passwordClient.clientId,
      client_secret: sandbox.demo.passwordClient.clientSecret,
      refresh_token: first.refresh_token,
    };
    const before = sandbox.stats().refreshTokenReuseRejected;
    expect((await tokenRequest(sandbox, refresh)).status).toBe(200);
    const reuse = await tokenRequest(sandbox, refresh);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    expect(sandbox.stats().refreshTokenReuseRejected).toBe(before + 1);
  });

  test('with refreshTokenReuse invalid_request_401, reuse answers the older Passport 401 shape', async () => {
    const first = await passwordGrant(legacy);
    const refresh = {
      grant_type: 'refresh_token',
      client_id: legacy.demo.passwordClient.clientId,
      client_secret: legacy.demo.passwordClient.clientSecret,
      refresh_token: first.refresh_token,
    };
    expect((await tokenRequest(legacy, refresh)).status).toBe(200);
    const reuse = await tokenRequest(legacy, refresh);
    expect(reuse.status).toBe(401);
    expect(reuse.body).toMatchObject({
      error: 'invalid_request',
      error_description: 'The refresh token is invalid.',
      hint: 'Token has been revoked',
    });
  });

  test('access tokens expire by the injected clock', async () => {
    const { access_token } = await passwordGrant(sandbox);
    clock.advance(3599_000);
    expect((await api(sandbox, 'GET', '/me', { token: access_token })).status).toBe(200);
    clock.advance(1000);
    expect((await api(sandbox, 'GET', '/me', { token: access_token })).status).toBe(401);
  });

  test('client_credentials needs scope * and gives a token without a refresh token', async () => {
    const app = sandbox.demo.appClient;
    const noScope = await tokenRequest(sandbox, {
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_secret: app.clientSecret,
    });
    expect(noScope.status).toBe(400);
    expect(noScope.body.error).toBe('invalid_request');
    const { status, body } = await tokenRequest(sandbox, {
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      scope: '*',
    });
    expect(status).toBe(200);
    expect(body.token_type).toBe('Bearer');
    expect(body.refresh_token).toBeUndefined();
  });

  test('an app token mints a user token through /applications/{org}/users/{email}/token', async () => {
    const app = sandbox.demo.appClient;
    const appToken = await tokenRequest(sandbox, {
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      scope: '*',
    });
    const minted = await api(
      sandbox,
      'POST',
      `/applications/${sandbox.demo.orgId}/users/${encodeURIComponent(sandbox.demo.standard.email)}/token`,
      { token: appToken.body.access_token as string },
    );
    expect(minted.status).toBe(200);
    expect(minted.body.expires_in).toBe(7_776_000);
    const me = await api(sandbox, 'GET', '/me', { token: minted.body.access_token });
    expect(me.body.data.id).toBe(sandbox.demo.standard.id);
  });

  test('personal access tokens die when the user logs out (revokeUserTokens)', async () => {
    const pat = sandbox.issuePersonalAccessToken(sandbox.demo.buyer.id);
    expect((await api(sandbox, 'GET', '/me', { token: pat })).status).toBe(200);
    sandbox.revokeUserTokens(sandbox.demo.buyer.id);
    expect((await api(sandbox, 'GET', '/me', { token: pat })).status).toBe(401);
  });
});

describe('sandbox refresh token reuse detection', () => {
  test('with refreshTokenReuseRevokesFamily, a reuse also revokes the newest tokens of the family', async () => {
    const sandbox = await startSandbox({ refreshTokenReuseRevokesFamily: true });
    try {
      const first = await passwordGrant(sandbox);
      const refresh = {
        grant_type: 'refresh_token',
        client_id: sandbox.demo.passwordClient.clientId,
        client_secret: sandbox.demo.passwordClient.clientSecret,
        refresh_token: first.refresh_token,
      };
      const second = await tokenRequest(sandbox, refresh);
      expect((await tokenRequest(sandbox, refresh)).status).toBe(400);
      const newest = second.body.access_token as string;
      expect((await api(sandbox, 'GET', '/me', { token: newest })).status).toBe(401);
    } finally {
      await sandbox.close();
    }
  });
});
