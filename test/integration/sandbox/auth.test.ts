import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { api, passwordGrant, tokenRequest } from './support.ts';

describe('sandbox request authentication', () => {
  let sandbox: StartedSandbox;
  let token: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    token = (await passwordGrant(sandbox)).access_token;
  });
  afterAll(async () => {
    await sandbox.close();
  });

  const runsPath = () => `/organizations/${sandbox.demo.orgId}/runs`;

  test('a valid request answers 200 with an X-Request-Id', async () => {
    const res = await api(sandbox, 'GET', runsPath(), { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/.+/);
  });

  test('without X-Tallyfy-Client the answer is 401 Unauthenticated', async () => {
    const res = await fetch(`${sandbox.url}${runsPath()}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'Unauthenticated.' });
    expect(res.headers.get('x-request-id')).toMatch(/.+/);
  });

  test.each([
    ['two spaces', (t: string) => `Bearer  ${t}`],
    ['lowercase bearer', (t: string) => `bearer ${t}`],
    ['no scheme', (t: string) => t],
    ['another scheme', (t: string) => `Basic ${t}`],
  ])('a malformed Authorization (%s) is 401', async (_name, header) => {
    const res = await api(sandbox, 'GET', runsPath(), {
      headers: { authorization: header(token) },
    });
    expect(res.status).toBe(401);
  });

  test('an unknown token is 401', async () => {
    expect((await api(sandbox, 'GET', runsPath(), { token: 'not-a-token' })).status).toBe(401);
  });

  test('a client-credentials token is 401 on user endpoints but reads users', async () => {
    const app = sandbox.demo.appClient;
    const { body } = await tokenRequest(sandbox, {
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      scope: '*',
    });
    const appToken = body.access_token as string;
    for (const path of [
      runsPath(),
      `/organizations/${sandbox.demo.orgId}/checklists`,
      `/organizations/${sandbox.demo.orgId}/tasks`,
      '/me',
    ]) {
      expect((await api(sandbox, 'GET', path, { token: appToken })).status).toBe(401);
    }
    const users = await api(sandbox, 'GET', `/organizations/${sandbox.demo.orgId}/users`, {
      token: appToken,
    });
    expect(users.status).toBe(200);
  });

  test('a token used on an org its user is not in is 403', async () => {
    sandbox.addOrg({ id: 'org-other', name: 'Other' });
    const res = await api(sandbox, 'GET', '/organizations/org-other/runs', { token });
    expect(res.status).toBe(403);
  });

  test('unknown ids are 404 with a message', async () => {
    const res = await api(sandbox, 'GET', `${runsPath()}/r-missing`, { token });
    expect(res.status).toBe(404);
    expect(typeof res.body.message).toBe('string');
  });

  test('requests are counted by route pattern', async () => {
    const before = sandbox.stats().requests[`GET /organizations/:org/runs`] ?? 0;
    await api(sandbox, 'GET', runsPath(), { token });
    expect(sandbox.stats().requests[`GET /organizations/:org/runs`]).toBe(before + 1);
  });

  test('the request log carries neither tokens nor passwords', async () => {
    const lines: string[] = [];
    const logged = await startSandbox({ log: (line) => lines.push(line) });
    try {
      const grant = await passwordGrant(logged);
      await api(logged, 'GET', `/organizations/${logged.demo.orgId}/runs?page=1`, {
        token: grant.access_token,
      });
      const all = lines.join('\n');
      expect(lines.length).toBe(2);
      expect(all).not.toContain(grant.access_token);
      expect(all).not.toContain(grant.refresh_token);
      expect(all).not.toContain(logged.demo.admin.password);
      expect(all).not.toContain(logged.demo.passwordClient.clientSecret);
    } finally {
      await logged.close();
    }
  });
});
