/**
 * Issue 11 point 2: the reconciler does not trust "seen" alone: an event that reached the queue
 * but has no processed or dead-lettered outcome after the grace period is enqueued again
 * (`EventsRescued`). Issue 12 §3: a long Retry-After is waited out when the run has the time,
 * else the org stops cleanly and the next run resumes it. And the run's time budget: every org
 * is reached over successive runs.
 */
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { EventEnvelope } from '../../../shared/events/index.ts';
import {
  RECONCILER_CURSOR,
  reconcile,
  watermarkStreamOf,
} from '../../../shared/reconcile/index.ts';
import { metricValue, runPurchaseOrder, startWorld, type World } from './support.ts';

const SETTLE_MS = 121_000;
const GRACE_MS = 60 * 60_000;

let world: World;

beforeAll(async () => {
  world = await startWorld('rescue');
  world.clock.advance(SETTLE_MS);
  await world.reconcile(); // absorbs the demo seed's history
});

afterAll(async () => {
  await world?.close();
});

beforeEach(async () => {
  world.sandbox.setWebhookDelivery(true);
  world.sandbox.clearFaults();
  await world.sqsClient.send(new PurgeQueueCommand({ QueueUrl: world.queueUrl }));
  world.emf.length = 0;
});

/** The worker's outcome for an event: claimed, then marked. */
async function settle(envelope: EventEnvelope, status: 'done' | 'failed'): Promise<void> {
  await world.registry.claimEvent(envelope.id, { orgId: envelope.orgId, origin: envelope.origin });
  await world.registry.markEvent(envelope.id, status);
}

describe('seen but never processed', () => {
  test('an acknowledged event whose queued copy was lost is rescued after the grace period, once', async () => {
    await runPurchaseOrder(world, 'PO acknowledged then lost');
    const acknowledged = await world.queued();
    expect(acknowledged).toHaveLength(5); // 202'd by the receiver, seen markers written
    // the queue loses them (retention, a purge, a bug): nothing will ever process them
    await world.sqsClient.send(new PurgeQueueCommand({ QueueUrl: world.queueUrl }));
    const stream = watermarkStreamOf('task.completed');

    world.clock.advance(SETTLE_MS);
    const early = await world.reconcile();
    expect(early.recovered).toBe(0);
    expect(early.rescued).toBe(0);
    const pending = early.results[0]?.streams.reduce((sum, s) => sum + s.pending, 0);
    expect(pending).toBe(5);
    // the watermark waits for them: it stops before the oldest pending event
    const held = await world.registry.getWatermark(world.orgId, stream);
    const oldestTask = acknowledged
      .filter((e) => e.type === 'task.completed')
      .map((e) => e.time)
      .sort()[0];
    expect(held?.value !== undefined && held.value <= (oldestTask ?? '')).toBe(true);

    world.clock.advance(GRACE_MS);
    const late = await world.reconcile();
    expect(late.rescued).toBe(5);
    expect(late.recovered).toBe(0);
    expect(metricValue(world.emf, 'EventsRescued')).toBe(5);
    expect(metricValue(world.emf, 'EventsRecovered')).toBe(0);
    const rescued = await world.queued();
    // the same events under the same keys (the claims keep them to one run), from the API
    expect(rescued.map((e) => e.id).sort()).toEqual(acknowledged.map((e) => e.id).sort());
    expect(new Set(rescued.map((e) => e.origin))).toEqual(new Set(['reconciler']));
    const task = rescued.find((e) => e.type === 'task.completed');
    expect(task?.data).toMatchObject({
      this_task: { id: task?.subject },
      process: { name: 'PO acknowledged then lost' },
      template: { title: 'Purchase order' },
    });

    // a fresh marker (a sign of life) for each: the next run waits again instead of repeating
    world.clock.advance(60_000);
    const again = await world.reconcile();
    expect(again.rescued).toBe(0);
    expect(await world.queued()).toHaveLength(5);

    // once the worker settles them (processed, or dead-lettered), they hold nothing back
    for (const [i, envelope] of rescued.entries())
      await settle(envelope, i === 0 ? 'failed' : 'done');
    world.clock.advance(60_000);
    const settled = await world.reconcile();
    expect(settled.rescued).toBe(0);
    expect(settled.results[0]?.streams.every((s) => s.pending === 0)).toBe(true);
    expect((await world.registry.getWatermark(world.orgId, stream))?.value).toBe(
      settled.results[0]?.streams.find((s) => s.stream === 'task.completed')?.until,
    );
  });

  test('an event rescued the most times allowed is not enqueued again, and no longer holds the watermark', async () => {
    const runId = await runPurchaseOrder(world, 'PO never processed');
    await world.sqsClient.send(new PurgeQueueCommand({ QueueUrl: world.queueUrl }));
    const deps = { ...world.deps, options: { ...world.deps.options, maxRescues: 1 } };
    world.clock.advance(SETTLE_MS + GRACE_MS);
    const firstRescue = await reconcile(deps, {});
    expect(firstRescue.rescued).toBe(5);
    world.clock.advance(GRACE_MS + 60_000);
    const stuck = await reconcile(deps, {});
    expect(stuck.rescued).toBe(0);
    expect(stuck.results[0]?.streams.reduce((sum, s) => sum + s.stuck, 0)).toBe(5);
    expect(
      world.logs.lines.some(
        (l) => l.includes('event without an outcome after its rescues') && l.includes(runId),
      ),
    ).toBe(true);
    const stream = watermarkStreamOf('process.launched');
    expect((await world.registry.getWatermark(world.orgId, stream))?.value).toBe(
      stuck.results[0]?.streams.find((s) => s.stream === 'process.launched')?.until,
    );
  });
});

describe('long rate limits and the time budget', () => {
  test('a 90 s Retry-After is waited out in full when the run has the time', async () => {
    world.sandbox.setWebhookDelivery(false);
    await runPurchaseOrder(world, 'PO behind a rate limit');
    // the task list answers 429 with Retry-After: 90 once (beyond the client's cap: it comes
    // back at once, not retried early)
    world.sandbox.injectFault({
      method: 'GET',
      path: `/organizations/${world.orgId}/tasks`,
      status: 429,
      retryAfterSeconds: 90,
      times: 1,
    });
    const waits: number[] = [];
    const deps = {
      ...world.deps,
      sleep: async (ms: number) => {
        waits.push(ms);
        world.clock.advance(ms);
      },
      tallyfyFor: () => clientWithoutWaits(),
    };
    world.clock.advance(SETTLE_MS);
    const result = await reconcile(deps, {}, { deadlineAt: world.clock() + 5 * 60_000 });
    expect(waits).toEqual([90_000]);
    expect(result.deferredOrgs).toEqual([]);
    expect(result.recovered).toBe(5);
  });

  test('a Retry-After longer than the time left defers the org cleanly; the next run resumes it', async () => {
    world.sandbox.setWebhookDelivery(false);
    await runPurchaseOrder(world, 'PO deferred');
    world.sandbox.injectFault({
      method: 'GET',
      path: `/organizations/${world.orgId}/tasks`,
      status: 429,
      retryAfterSeconds: 90,
      times: 1,
    });
    const stream = watermarkStreamOf('task.completed');
    world.clock.advance(SETTLE_MS);
    const before = await world.registry.getWatermark(world.orgId, stream);
    const deps = { ...world.deps, tallyfyFor: () => clientWithoutWaits() };
    const deferred = await reconcile(deps, {}, { deadlineAt: world.clock() + 60_000 });
    expect(deferred.deferredOrgs).toEqual([world.orgId]);
    expect(deferred.failedOrgs).toEqual([]);
    const org = deferred.results[0];
    expect(org).toMatchObject({ status: 'deferred', reason: 'rate_limited' });
    expect(Date.parse(org?.resumeAfter ?? '')).toBe(world.clock() + 90_000);
    expect(metricValue(world.emf, 'ReconcileFailures')).toBe(0);
    expect(await world.registry.getWatermark(world.orgId, stream)).toEqual(before);
    expect(await world.queued()).toHaveLength(0);

    world.clock.advance(90_000);
    const resumed = await reconcile(deps, {}, { deadlineAt: world.clock() + 5 * 60_000 });
    expect(resumed.recovered).toBe(5);
  });

  test('a run stops starting orgs when its budget is spent; the next run starts after the last one reached', async () => {
    // two more orgs the admin belongs to, each with a webhook the reconciler must recover
    for (const orgId of ['orgRotationA', 'orgRotationB']) {
      world.sandbox.addOrg({ id: orgId, name: orgId });
      world.sandbox.addUser({
        id: world.sandbox.demo.admin.id,
        orgId,
        email: world.sandbox.demo.admin.email,
        password: world.sandbox.demo.admin.password,
        role: 'admin',
      });
      await world.registry.createOrg({
        orgId,
        name: orgId,
        authMode: 'password',
        credentialsSecretId: `x/orgs/${orgId}/credentials`,
        tokenSecretId: `x/orgs/${orgId}/token`,
        webhookSecretHash: 'b'.repeat(64),
      });
    }
    world.clock.advance(SETTLE_MS);
    // the last run reached the last org: this one starts from the first again
    await world.registry.setRunCursor(RECONCILER_CURSOR, 'orgRotationB');
    // each org takes 40 s of the clock; the budget fits one org start after the first
    const started: string[] = [];
    const deps = {
      ...world.deps,
      options: { ...world.deps.options, concurrency: 1 },
      tallyfyFor: (orgId: string) => {
        started.push(orgId);
        world.clock.advance(40_000);
        return world.api;
      },
    };
    const first = await reconcile(deps, {}, { deadlineAt: world.clock() + 50_000 });
    expect(started).toEqual(['org5f4e3d2c1b0a', 'orgRotationA']);
    expect(first.orgs).toBe(2);
    expect(first.notReached).toBe(1);
    expect(await world.registry.getRunCursor(RECONCILER_CURSOR)).toBe('orgRotationA');

    started.length = 0;
    const second = await reconcile(deps, {}, { deadlineAt: world.clock() + 50_000 });
    expect(started).toEqual(['orgRotationB', 'org5f4e3d2c1b0a']);
    expect(second.notReached).toBe(1);
    for (const orgId of ['orgRotationA', 'orgRotationB']) {
      await world.registry.setStatus(orgId, 'disabled');
    }
  });
});

/** An API client whose in-process waits are recorded, not slept (the 429s reach the reconciler). */
function clientWithoutWaits() {
  return world.apiWith({ sleep: async () => undefined });
}
