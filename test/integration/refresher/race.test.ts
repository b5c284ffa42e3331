import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTokenRefresherHandler } from '../../../functions/token-refresher/handler.ts';
import { Secret } from '../../../shared/secret.ts';
import {
  liveRefreshToken,
  MINUTE,
  newOrgId,
  passwordCredentials,
  type RefresherEnv,
  registerOrg,
  startRefresherEnv,
  tokenWorks,
} from './support.ts';

let env: RefresherEnv;

beforeAll(async () => {
  // latency widens the window in which the 20 invocations overlap the one grant
  env = await startRefresherEnv('race', { sandbox: { latencyMs: 25 } });
});

afterAll(async () => {
  await env?.close();
});

const scheduledEvent = {
  version: '0',
  id: 'e7a1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: '2026-11-22T12:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:000000000000:rule/refresher'],
  detail: {},
};

test('20 concurrent invocations (scheduled and on-demand), and 20 more right after, spend exactly one grant per rotation, none rejected as reused', async () => {
  const orgId = newOrgId('race');
  await registerOrg(
    env,
    orgId,
    passwordCredentials(env, orgId, { refreshToken: await liveRefreshToken(env) }),
  );
  const handler = createTokenRefresherHandler({ ...env.deps(), concurrency: 4, startJitterMs: 0 });
  const start = env.sandbox.stats();
  const rotations = 3;

  for (let rotation = 1; rotation <= rotations; rotation++) {
    // wave 1 overlaps the winner's lease; wave 2 arrives after it released (the org item and
    // the token age then single-flight the 401-driven forced requests)
    const outcomes: string[] = [];
    for (const wave of [1, 2]) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          handler(i % 2 === 0 ? scheduledEvent : { orgId, force: true, reason: 'unauthorized' }, {
            awsRequestId: `req-${rotation}-${wave}-${i}`,
          }),
        ),
      );
      outcomes.push(
        ...results.flatMap((r) =>
          r.kind === 'on-demand'
            ? [r.result.outcome]
            : r.kind === 'scheduled'
              ? Object.entries(r.outcomes).flatMap(([o, n]) => Array<string>(n).fill(o))
              : ['rejected'],
        ),
      );
    }
    expect(outcomes.filter((o) => o === 'refreshed')).toHaveLength(1);
    expect(outcomes.every((o) => ['refreshed', 'busy', 'fresh'].includes(o))).toBe(true);
    const stats = env.sandbox.stats();
    expect(stats.grants.refresh_token).toBe((start.grants.refresh_token ?? 0) + rotation);
    expect(stats.grants.password).toBe(start.grants.password);
    expect(stats.refreshTokenReuseRejected).toBe(start.refreshTokenReuseRejected);

    const org = await env.registry.getOrg(orgId);
    expect(org).toMatchObject({ status: 'active', consecutiveFailures: 0 });
    expect(org?.lease).toBeUndefined();
    const token = await env.store.readToken(orgId);
    expect(await tokenWorks(env, token?.accessToken ?? new Secret('x'))).toBe(true);
    // into the next token's refresh margin
    env.clock.advance(46 * MINUTE);
  }
});
