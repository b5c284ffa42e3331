/**
 * Issue 12 §5: a token revoked 5 s after it was issued. The forced-refresh minimum age (60 s)
 * single-flights a burst of 401s after a rotation, but it used to leave a revoked young token in
 * place: events waited ~90 s and reached their 4th of 5 deliveries. With the worker's proof
 * (this token was rejected and a re-read returned the same one) the refresher replaces it at
 * once; a proof about a token already replaced spends nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTallyfyClient, TallyfyApi } from '../../../shared/tallyfy/index.ts';
import {
  createRefreshRequester,
  createTokenProvider,
  type RefreshRequest,
  refreshOrg,
  runTokenRefresher,
} from '../../../shared/tokens/index.ts';
import {
  newOrgId,
  passwordCredentials,
  type RefresherEnv,
  registerOrg,
  startRefresherEnv,
} from './support.ts';

let env: RefresherEnv;

beforeAll(async () => {
  env = await startRefresherEnv('revoked');
});

afterAll(async () => {
  await env?.close();
});

describe('a token revoked seconds after it was issued', () => {
  test('is replaced on the worker’s proof at once, and the call goes through on its first delivery', async () => {
    const orgId = newOrgId('revoked');
    await registerOrg(env, orgId, passwordCredentials(env, orgId));
    expect(await refreshOrg(env.deps(), orgId)).toMatchObject({ outcome: 'refreshed' });
    const issued = await env.store.readToken(orgId);
    if (!issued) throw new Error('no token stored');
    env.clock.advance(5_000);
    env.sandbox.revokeAccessToken(issued.accessToken.reveal());

    // without a proof the minimum age still holds (the burst-after-rotation guard)
    expect(await refreshOrg(env.deps(), orgId, { force: true })).toMatchObject({
      outcome: 'fresh',
    });

    // the worker's side: its provider asks the in-process refresher (as local mode does)
    const requests: RefreshRequest[] = [];
    const refresher = (request: RefreshRequest) => {
      requests.push(request);
      return runTokenRefresher({ ...env.deps(), concurrency: 1 }, request);
    };
    const tokens = createTokenProvider({
      store: env.store,
      clock: env.clock,
      requestRefresh: createRefreshRequester({ kind: 'local' }, { local: refresher }),
    });
    const api = new TallyfyApi(
      createTallyfyClient({
        auth: tokens.forOrg(orgId),
        baseUrl: env.sandbox.url,
        clock: env.clock,
      }),
    );
    const grantsBefore = env.sandbox.stats().grants.refresh_token ?? 0;

    const me = await api.me();

    expect(me.id).toBe(env.sandbox.demo.admin.id);
    expect(requests).toEqual([
      {
        orgId,
        force: true,
        reason: 'unauthorized',
        rejectedTokenObtainedAt: issued.obtainedAt,
      },
    ]);
    expect(env.sandbox.stats().grants.refresh_token).toBe(grantsBefore + 1);
    expect(api.client.stats).toMatchObject({ attempts: 2, retries: 1 });
    expect(api.client.stats.retriesByReason.unauthorized).toBe(1);
    const replaced = await env.store.readToken(orgId);
    expect(replaced?.accessToken.equals(issued.accessToken)).toBe(false);

    // a late request proving the old token dead spends nothing: it was replaced already
    const late = await runTokenRefresher(
      { ...env.deps(), concurrency: 1 },
      { orgId, force: true, reason: 'unauthorized', rejectedTokenObtainedAt: issued.obtainedAt },
    );
    expect(late).toMatchObject({ kind: 'on-demand', result: { outcome: 'fresh' } });
    expect(env.sandbox.stats().grants.refresh_token).toBe(grantsBefore + 1);
  });
});
