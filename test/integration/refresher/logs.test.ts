import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTokenRefresherHandler } from '../../../functions/token-refresher/handler.ts';
import { createMetrics } from '../../../shared/observability/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { AWSPREVIOUS, type OrgCredentials } from '../../../shared/tokens/index.ts';
import {
  liveRefreshToken,
  MINUTE,
  newOrgId,
  passwordCredentials,
  type RefresherEnv,
  registerOrg,
  spendRefreshToken,
  startRefresherEnv,
} from './support.ts';

let env: RefresherEnv;

beforeAll(async () => {
  env = await startRefresherEnv('logs');
});

afterAll(async () => {
  await env?.close();
});

/** Every secret value in a set of credentials (and their last grant). */
function secretsOf(credentials: OrgCredentials): string[] {
  const values = Object.values(credentials).filter((v): v is Secret => v instanceof Secret);
  if (credentials.lastGrant) values.push(credentials.lastGrant.accessToken);
  return values.map((v) => v.reveal());
}

test('a full refresh cycle over every auth mode and failure path logs no token, secret or password', async () => {
  const { demo } = env.sandbox;
  const spent = async () => {
    const token = await liveRefreshToken(env);
    await spendRefreshToken(env, token);
    return token;
  };
  const pat = new Secret(env.sandbox.issuePersonalAccessToken(demo.standard.id));
  const deadPat = new Secret(env.sandbox.issuePersonalAccessToken(demo.buyer.id));
  env.sandbox.revokeUserTokens(demo.buyer.id);
  const orgs: Record<string, Parameters<typeof registerOrg>[2]> = {};
  const add = (label: string, make: (orgId: string) => Parameters<typeof registerOrg>[2]) => {
    const orgId = label === 'app' ? demo.orgId : newOrgId(label);
    orgs[orgId] = make(orgId);
  };
  const initial = await liveRefreshToken(env);
  const spentWithLogin = await spent();
  const spentAlone = await spent();
  add('pw', (orgId) => passwordCredentials(env, orgId, { refreshToken: initial }));
  add('fallback', (orgId) => passwordCredentials(env, orgId, { refreshToken: spentWithLogin }));
  add('reauth', (orgId) =>
    passwordCredentials(env, orgId, { refreshToken: spentAlone, login: false }),
  );
  add('cc', (orgId) => ({
    authMode: 'client_credentials',
    orgId,
    clientId: demo.appClient.clientId,
    clientSecret: new Secret(demo.appClient.clientSecret),
  }));
  add('ccbad', (orgId) => ({
    authMode: 'client_credentials',
    orgId,
    clientId: demo.appClient.clientId,
    clientSecret: new Secret('wrong-client-secret-value-0f9e8d'),
  }));
  add('pat', (orgId) => ({ authMode: 'personal_access_token', orgId, token: pat }));
  add('patdead', (orgId) => ({ authMode: 'personal_access_token', orgId, token: deadPat }));
  add('app', (orgId) => ({
    authMode: 'app_user_token',
    orgId,
    appClientId: demo.appClient.clientId,
    appClientSecret: new Secret(demo.appClient.clientSecret),
    email: demo.standard.email,
  }));
  for (const [orgId, credentials] of Object.entries(orgs))
    await registerOrg(env, orgId, credentials);

  const emf: string[] = [];
  const metrics = createMetrics({
    namespace: 'TallyfyServerless',
    serviceName: 'token-refresher',
    sink: (line) => emf.push(line),
  });
  const handler = createTokenRefresherHandler({
    ...env.deps(),
    metrics,
    flushMetrics: () => metrics.publishStoredMetrics(),
    startJitterMs: 0,
    concurrency: 4,
  });
  env.sink.clear();
  const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

  const first = await handler(scheduled, { awsRequestId: 'run-1' });
  const pwOrg = Object.keys(orgs).find((id) => id.startsWith('org_pw_')) ?? '';
  env.clock.advance(2 * MINUTE);
  const demand = await handler({ orgId: pwOrg, force: true, reason: 'unauthorized' });
  env.clock.advance(46 * MINUTE);
  const second = await handler(scheduled, { awsRequestId: 'run-2' });
  const rejected = await handler({ orgId: 'bad id with spaces', force: 'yes' });

  // the cycle did what it should, so the logs below cover every path
  expect(first).toMatchObject({ kind: 'scheduled', due: 8 });
  expect(first.kind === 'scheduled' && first.outcomes).toMatchObject({ refreshed: 5, failed: 3 });
  expect(demand).toMatchObject({ kind: 'on-demand', result: { outcome: 'refreshed' } });
  expect(second.kind === 'scheduled' && second.outcomes.refreshed).toBeGreaterThanOrEqual(2);
  expect(rejected).toMatchObject({ kind: 'rejected' });
  const messages = env.sink.records().map((r) => r.message);
  for (const expected of [
    'token refreshed',
    'refresh token rejected; falling back to the password grant',
    'org needs re-authorisation: its credentials no longer mint tokens',
    'token refresh failed; will retry',
    'scheduled refresh run done',
    'on-demand refresh done',
    'refresher event rejected',
  ]) {
    expect(messages).toContain(expected);
  }
  expect(emf.join('\n')).toContain('TokenRefreshSucceeded');

  // every secret value that existed during the cycle: stored now, stored before, handed in
  const secrets = new Set<string>([
    demo.passwordClient.clientSecret,
    demo.appClient.clientSecret,
    demo.admin.password,
    initial.reveal(),
    spentWithLogin.reveal(),
    spentAlone.reveal(),
    pat.reveal(),
    deadPat.reveal(),
    'wrong-client-secret-value-0f9e8d',
  ]);
  for (const orgId of Object.keys(orgs)) {
    for (const stage of [undefined, AWSPREVIOUS]) {
      const read = stage ? { versionStage: stage } : {};
      const credentials = await env.store.readCredentials(orgId, read).catch(() => undefined);
      if (credentials) for (const value of secretsOf(credentials)) secrets.add(value);
      const token = await env.store.readToken(orgId, read).catch(() => undefined);
      if (token) secrets.add(token.accessToken.reveal());
    }
  }
  expect(secrets.size).toBeGreaterThan(15);

  const output = [...env.sink.lines, ...emf];
  const leaks = (lines: readonly string[]) =>
    [...secrets].filter((value) => lines.some((line) => line.includes(value)));
  // the check itself works: a line holding a secret is caught
  expect(leaks([`oops ${initial.reveal()}`])).toHaveLength(1);
  expect(output.length).toBeGreaterThan(20);
  expect(leaks(output)).toEqual([]);
});
