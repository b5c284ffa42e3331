import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTokenRefresherHandler } from '../../../functions/token-refresher/handler.ts';
import { createMetrics } from '../../../shared/observability/index.ts';
import {
  liveRefreshToken,
  newOrgId,
  passwordCredentials,
  type RefresherEnv,
  registerOrg,
  spendRefreshToken,
  startRefresherEnv,
} from './support.ts';

let env: RefresherEnv;

beforeAll(async () => {
  env = await startRefresherEnv('heartbeat');
});

afterAll(async () => {
  await env?.close();
});

const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

/** The refresher's handler with its EMF documents captured, as CloudWatch would receive them. */
function refresherWithMetrics() {
  const emf: Record<string, unknown>[] = [];
  const metrics = createMetrics({
    namespace: 'TallyfyServerless',
    serviceName: 'token-refresher',
    sink: (line) => emf.push(JSON.parse(line) as Record<string, unknown>),
  });
  const { owner: _owner, ...deps } = env.deps();
  const handler = createTokenRefresherHandler({
    ...deps,
    metrics,
    flushMetrics: () => metrics.publishStoredMetrics(),
    concurrency: 2,
    startJitterMs: 0,
  });
  /** The value of `name` in the documents flushed since `from`, or undefined when not emitted. */
  const emitted = (name: string, from: number) =>
    emf
      .slice(from)
      .map((doc) => doc[name])
      .find((value) => value !== undefined);
  return { handler, emf, emitted };
}

describe('refresher heartbeat and needs-reauth gauge', () => {
  test('every scheduled run emits RefreshRuns = 1, even when no org is due', async () => {
    const { handler, emf, emitted } = refresherWithMetrics();
    for (let run = 0; run < 2; run++) {
      const from = emf.length;
      const result = await handler(scheduled);
      expect(result.kind).toBe('scheduled');
      expect(emitted('RefreshRuns', from)).toBe(1);
    }
  });

  test('OrgsNeedingReauth is the number of orgs in needs_reauth at every run, not the newly marked', async () => {
    const { handler, emf, emitted } = refresherWithMetrics();
    const before = await env.registry.countOrgs({ status: 'needs_reauth' });
    // two orgs holding a spent refresh token and no password: needs_reauth at their first refresh
    const broken = [newOrgId('gauge'), newOrgId('gauge')];
    for (const orgId of broken) {
      const spent = await liveRefreshToken(env);
      await spendRefreshToken(env, spent);
      await registerOrg(
        env,
        orgId,
        passwordCredentials(env, orgId, { refreshToken: spent, login: false }),
      );
    }
    const first = emf.length;
    const marking = await handler(scheduled);
    expect(marking).toMatchObject({ kind: 'scheduled' });
    const marked = marking.kind === 'scheduled' ? marking.needsReauth : -1;
    expect(marked).toBe(broken.length);
    const gauge = await env.registry.countOrgs({ status: 'needs_reauth' });
    expect(emitted('OrgsNeedingReauth', first)).toBe(gauge);
    expect(gauge).toBe(before + marked);

    // the next run marks nobody new, and the gauge still says how many stay broken
    const second = emf.length;
    const next = await handler(scheduled);
    expect(next).toMatchObject({ kind: 'scheduled', needsReauth: 0, orgsNeedingReauth: gauge });
    expect(emitted('OrgsNeedingReauth', second)).toBe(gauge);

    // once the operator deals with them (here: disables both), the gauge falls back
    for (const orgId of broken) await env.registry.setStatus(orgId, 'disabled');
    const third = emf.length;
    await handler(scheduled);
    expect(emitted('OrgsNeedingReauth', third)).toBe(before);
  });
});
