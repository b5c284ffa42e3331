import { beforeAll, describe, expect, test } from 'vitest';
import {
  LeaseLostError,
  OrgNotFoundError,
  type OrgRegistry,
  refreshShardOf,
} from '../../../shared/orgs/index.ts';
import { freshRegistry, inBatches, orgInput, type TestClock } from './support.ts';

let registry: OrgRegistry;
let clock: TestClock;
const iso = (ms: number): string => new Date(ms).toISOString();

beforeAll(async () => {
  ({ registry, clock } = await freshRegistry('orgs-lease'));
});

describe('lease', () => {
  test('of 20 concurrent acquirers exactly one wins, with fence 1 and the fresh org', async () => {
    await registry.createOrg(orgInput('leaseRace'));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        registry.acquireLease('leaseRace', { owner: `runner-${index}`, durationMs: 60_000 }),
      ),
    );
    const winners = results.filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.fence).toBe(1);
    expect(winners[0]?.org.lease).toEqual({
      owner: expect.stringMatching(/^runner-\d+$/),
      until: iso(clock() + 60_000),
      fence: 1,
    });
    expect((await registry.getOrg('leaseRace'))?.lease).toEqual(winners[0]?.org.lease);
  });

  test('a held lease is refused until it expires, then taken over with a higher fence', async () => {
    await registry.createOrg(orgInput('leaseExpiry'));
    const first = await registry.acquireLease('leaseExpiry', { owner: 'a', durationMs: 30_000 });
    clock.advance(29_999);
    expect(
      await registry.acquireLease('leaseExpiry', { owner: 'b', durationMs: 30_000 }),
    ).toBeNull();
    clock.advance(1);
    const second = await registry.acquireLease('leaseExpiry', { owner: 'b', durationMs: 30_000 });
    expect(second?.fence).toBe((first?.fence ?? 0) + 1);
    expect(second?.org.lease?.owner).toBe('b');
  });

  test('a released lease can be taken at once and the fence still grows', async () => {
    await registry.createOrg(orgInput('leaseRelease'));
    const first = await registry.acquireLease('leaseRelease', { owner: 'a', durationMs: 60_000 });
    // releasing with a wrong fence changes nothing
    await registry.releaseLease('leaseRelease', { owner: 'a', fence: 99 });
    expect((await registry.getOrg('leaseRelease'))?.lease?.owner).toBe('a');
    await registry.releaseLease('leaseRelease', { owner: 'a', fence: first?.fence ?? 0 });
    expect((await registry.getOrg('leaseRelease'))?.lease).toBeUndefined();
    const second = await registry.acquireLease('leaseRelease', { owner: 'b', durationMs: 60_000 });
    expect(second?.fence).toBe(2);
  });

  test('acquiring the lease of an unregistered org fails with OrgNotFoundError', async () => {
    await expect(
      registry.acquireLease('leaseNobody', { owner: 'a', durationMs: 60_000 }),
    ).rejects.toBeInstanceOf(OrgNotFoundError);
  });
});

describe('fenced refresh writes', () => {
  test('a success records the token, resets failures, reschedules and releases the lease', async () => {
    await registry.createOrg(orgInput('fenceOk'));
    const lease = await registry.acquireLease('fenceOk', { owner: 'a', durationMs: 60_000 });
    const obtainedAt = iso(clock());
    await registry.recordRefreshSuccess('fenceOk', {
      owner: 'a',
      fence: lease?.fence ?? 0,
      tokenExpiresAt: iso(clock() + 3_600_000),
      refreshDueAt: iso(clock() + 2_700_000),
      obtainedAt,
    });
    const org = await registry.getOrg('fenceOk');
    expect(org).toMatchObject({
      status: 'active',
      tokenExpiresAt: iso(clock() + 3_600_000),
      refreshDueAt: iso(clock() + 2_700_000),
      lastRefreshAt: obtainedAt,
      consecutiveFailures: 0,
      version: 2,
    });
    expect(org?.lease).toBeUndefined();
  });

  test('a writer whose lease expired and was taken over is rejected with LeaseLostError', async () => {
    await registry.createOrg(orgInput('fenceStale'));
    const stale = await registry.acquireLease('fenceStale', { owner: 'slow', durationMs: 10_000 });
    clock.advance(10_000);
    const fresh = await registry.acquireLease('fenceStale', { owner: 'fast', durationMs: 10_000 });
    expect(fresh).not.toBeNull();
    const write = registry.recordRefreshSuccess('fenceStale', {
      fence: stale?.fence ?? 0,
      tokenExpiresAt: iso(clock() + 1000),
      refreshDueAt: iso(clock()),
      obtainedAt: iso(clock()),
    });
    await expect(write).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      registry.recordRefreshFailure('fenceStale', {
        fence: stale?.fence ?? 0,
        error: { code: 'x', message: 'y' },
        needsReauth: true,
        retryAt: iso(clock()),
      }),
    ).rejects.toMatchObject({ code: 'ORGS_LEASE_LOST' });
    const org = await registry.getOrg('fenceStale');
    expect(org?.tokenExpiresAt).toBeUndefined();
    expect(org?.status).toBe('active');
    expect(org?.lease).toMatchObject({ owner: 'fast', fence: fresh?.fence });
  });

  test('a write after the lease was released (same fence) is rejected too', async () => {
    await registry.createOrg(orgInput('fenceReleased'));
    const lease = await registry.acquireLease('fenceReleased', { owner: 'a', durationMs: 60_000 });
    const fence = lease?.fence ?? 0;
    await registry.recordRefreshSuccess('fenceReleased', {
      fence,
      tokenExpiresAt: iso(clock() + 1000),
      refreshDueAt: iso(clock()),
      obtainedAt: iso(clock()),
    });
    await expect(
      registry.recordRefreshSuccess('fenceReleased', {
        fence,
        tokenExpiresAt: iso(clock() + 1000),
        refreshDueAt: iso(clock()),
        obtainedAt: iso(clock()),
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
  });

  test('a transient failure counts up, keeps the org scheduled at retryAt and scrubs the message', async () => {
    await registry.createOrg(orgInput('fenceRetry'));
    for (const expected of [1, 2]) {
      const lease = await registry.acquireLease('fenceRetry', { owner: 'a', durationMs: 60_000 });
      await registry.recordRefreshFailure('fenceRetry', {
        fence: lease?.fence ?? 0,
        error: {
          code: 'TALLYFY_UNAVAILABLE',
          message: 'upstream 503 for refresh_token=def50200abcdef',
        },
        needsReauth: false,
        retryAt: iso(clock() + 120_000),
      });
      expect((await registry.getOrg('fenceRetry'))?.consecutiveFailures).toBe(expected);
    }
    const org = await registry.getOrg('fenceRetry');
    expect(org).toMatchObject({
      status: 'active',
      refreshDueAt: iso(clock() + 120_000),
      lastError: { code: 'TALLYFY_UNAVAILABLE', at: iso(clock()) },
    });
    expect(org?.lastError?.message).not.toContain('def50200abcdef');
    expect(org?.lease).toBeUndefined();
  });

  test('a success on an org disabled while the lease was held keeps it disabled and unscheduled', async () => {
    await registry.createOrg(orgInput('fenceDisabled'));
    const lease = await registry.acquireLease('fenceDisabled', { owner: 'a', durationMs: 60_000 });
    await registry.setStatus('fenceDisabled', 'disabled');
    await registry.recordRefreshSuccess('fenceDisabled', {
      fence: lease?.fence ?? 0,
      tokenExpiresAt: iso(clock() + 3_600_000),
      refreshDueAt: iso(clock()),
      obtainedAt: iso(clock()),
    });
    const org = await registry.getOrg('fenceDisabled');
    expect(org).toMatchObject({ status: 'disabled', tokenExpiresAt: iso(clock() + 3_600_000) });
    expect(org?.refreshDueAt).toBeUndefined();
    expect(org?.lease).toBeUndefined();
  });
});

describe('due orgs', () => {
  test('queryDue returns the 10 due orgs of 1,000 across every shard and reads about 10 items', async () => {
    const { registry: due, clock: dueClock } = await freshRegistry('orgs-due', { shards: 4 });
    const now = dueClock();
    const ids = Array.from({ length: 1000 }, (_, index) => `due${String(index).padStart(4, '0')}`);
    const dueIds = ids.filter((_, index) => index % 100 === 7);
    await inBatches(ids, 50, (orgId) =>
      due.createOrg(
        orgInput(orgId, {
          refreshDueAt: iso(dueIds.includes(orgId) ? now - 60_000 : now + 3_600_000),
          tokenExpiresAt: iso(now + (dueIds.includes(orgId) ? 600_000 : 7_200_000)),
        }),
      ),
    );
    const result = await due.queryDue(iso(now));
    expect([...result.orgIds].sort()).toEqual(dueIds);
    expect(result.itemsRead).toBe(10);
    expect(result.soonestExpiresAt).toBe(iso(now + 600_000));
    expect(new Set(dueIds.map((orgId) => refreshShardOf(orgId, 4))).size).toBeGreaterThan(1);

    const limited = await due.queryDue(iso(now), { limit: 3 });
    expect(limited.orgIds).toHaveLength(3);
  });

  test('disabled and needs_reauth orgs leave the index and come back due when re-activated', async () => {
    const { registry: sparse, clock: sparseClock } = await freshRegistry('orgs-sparse');
    const now = iso(sparseClock());
    for (const orgId of ['spA', 'spB', 'spC']) await sparse.createOrg(orgInput(orgId));
    await sparse.createOrg(orgInput('spOff', { status: 'disabled' }));
    await sparse.setStatus('spA', 'disabled');
    const lease = await sparse.acquireLease('spB', { owner: 'a', durationMs: 60_000 });
    await sparse.recordRefreshFailure('spB', {
      fence: lease?.fence ?? 0,
      error: { code: 'refresh_token_rejected', message: 'invalid_grant' },
      needsReauth: true,
      retryAt: now,
    });
    const reauth = await sparse.getOrg('spB');
    expect(reauth).toMatchObject({ status: 'needs_reauth', consecutiveFailures: 1 });
    expect(reauth?.refreshDueAt).toBeUndefined();
    expect((await sparse.queryDue(now)).orgIds).toEqual(['spC']);

    sparseClock.advance(1000);
    await sparse.setStatus('spB', 'active');
    const back = await sparse.queryDue(iso(sparseClock()));
    expect([...back.orgIds].sort()).toEqual(['spB', 'spC']);
    expect((await sparse.getOrg('spB'))?.consecutiveFailures).toBe(0);
    expect(await sparse.scheduleRefresh('spA', iso(sparseClock()))).toBeUndefined();
  });
});
