import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { eventKeys, watermarkStreamOf } from '../../../shared/reconcile/index.ts';
import { metricValue, runPurchaseOrder, startWorld, type World } from './support.ts';

/** Past the reconciler's settle time (120 s): the events are old enough to be reconciled. */
const SETTLE_MS = 121_000;

let world: World;

beforeAll(async () => {
  world = await startWorld('reconciler');
  // the first run absorbs the demo seed's history (events that never had webhooks)
  world.clock.advance(SETTLE_MS);
  await world.reconcile();
});

afterAll(async () => {
  await world?.close();
});

beforeEach(async () => {
  world.sandbox.setWebhookDelivery(true);
  world.sqs.clearFaults();
  await world.sqsClient.send(new PurgeQueueCommand({ QueueUrl: world.queueUrl }));
  world.emf.length = 0;
});

describe('reconciler against the sandbox, local SQS and DynamoDB Local', () => {
  test('webhook delivery off while tasks complete: every lost event is recovered and counted', async () => {
    world.sandbox.setWebhookDelivery(false);
    const suppressedBefore = world.sandbox.stats().webhooksSuppressed;
    const runA = await runPurchaseOrder(world, 'PO lost A');
    const runB = await runPurchaseOrder(world, 'PO lost B');
    const lost = world.sandbox.stats().webhooksSuppressed - suppressedBefore;
    expect(lost).toBe(10); // per run: launch, 3 task completions, process completion
    expect(await world.queued()).toHaveLength(0);

    world.clock.advance(SETTLE_MS);
    const result = await world.reconcile();

    expect(result.recovered).toBe(lost);
    expect(metricValue(world.emf, 'EventsRecovered')).toBe(lost);
    const queued = await world.queued();
    expect(queued).toHaveLength(lost);
    expect(new Set(queued.map((e) => e.origin))).toEqual(new Set(['reconciler']));
    expect(new Set(queued.map((e) => e.id)).size).toBe(lost);
    const byType = (type: string) => queued.filter((e) => e.type === type).map((e) => e.subject);
    expect(byType('process.launched').sort()).toEqual([runA, runB].sort());
    expect(byType('process.completed').sort()).toEqual([runA, runB].sort());
    expect(byType('task.completed')).toHaveLength(6);
    // keyed as the webhook would have been: whole seconds, though the API time has ms
    for (const envelope of queued) expect(envelope.id).toMatch(/:\d{2}\.000Z$/);
    const watermark = await world.registry.getWatermark(
      world.orgId,
      watermarkStreamOf('task.completed'),
    );
    expect(watermark?.value).toBe(
      new Date(world.clock() - 120_000).toISOString().replace(/\.\d{3}Z$/, '.000Z'),
    );

    // the next run re-reads the overlap and finds them already queued: none recovered twice
    world.clock.advance(60_000);
    const again = await world.reconcile();
    expect(again.recovered).toBe(0);
    expect(await world.queued()).toHaveLength(lost);
  });

  test('webhook delivery on (receiver first): the reconciler recovers none, nothing enqueued twice', async () => {
    const sentBefore = world.sandbox.stats().webhooksSent;
    await runPurchaseOrder(world, 'PO delivered A');
    await runPurchaseOrder(world, 'PO delivered B');
    const delivered = world.sandbox.stats().webhooksSent - sentBefore;
    expect(delivered).toBe(10);
    const fromWebhooks = await world.queued();
    expect(fromWebhooks).toHaveLength(delivered);
    expect(new Set(fromWebhooks.map((e) => e.origin))).toEqual(new Set(['webhook']));

    world.clock.advance(SETTLE_MS);
    const result = await world.reconcile();

    expect(result.recovered).toBe(0);
    expect(metricValue(world.emf, 'EventsRecovered')).toBe(0);
    const found = result.results[0]?.streams.reduce((sum, s) => sum + s.found, 0);
    expect(found).toBeGreaterThanOrEqual(delivered);
    expect(await world.queued()).toHaveLength(delivered);
  });

  test('an event the worker already claimed (no seen marker) is not recovered', async () => {
    world.sandbox.setWebhookDelivery(false);
    const runId = await runPurchaseOrder(world, 'PO claimed');
    const run = await world.api.getRun(world.orgId, runId);
    // the worker claimed the launch under the webhook's key (marker lost, e.g. a DynamoDB blip)
    const launchedAt = String((run as Record<string, unknown>).started_at ?? run.created_at);
    const key = eventKeys('process.launched', runId, launchedAt).primary;
    await world.registry.claimEvent(key, { orgId: world.orgId, origin: 'webhook' });

    world.clock.advance(SETTLE_MS);
    const result = await world.reconcile({ orgId: world.orgId });

    expect(result.recovered).toBe(4);
    const queued = await world.queued();
    expect(queued.map((e) => e.id)).not.toContain(key);
  });

  test('a failed enqueue leaves the watermark; the next run recovers the events', async () => {
    world.sandbox.setWebhookDelivery(false);
    await runPurchaseOrder(world, 'PO queue down');
    world.clock.advance(SETTLE_MS);
    const stream = watermarkStreamOf('task.completed');
    const before = await world.registry.getWatermark(world.orgId, stream);
    world.sqs.injectFault({ operations: ['SendMessageBatch'], queueName: 'events', count: 100 });

    const failed = await world.reconcile();
    expect(failed.failedOrgs).toEqual([world.orgId]);
    expect(failed.recovered).toBe(0);
    expect(await world.registry.getWatermark(world.orgId, stream)).toEqual(before);
    expect(metricValue(world.emf, 'ReconcileFailures')).toBe(1);

    world.sqs.clearFaults();
    world.clock.advance(60_000);
    const retried = await world.reconcile();
    expect(retried.recovered).toBe(5);
    expect(await world.queued()).toHaveLength(5);
  });

  test("one org's failure does not stop the others", async () => {
    // registered here but unknown to Tallyfy: its API calls fail (403)
    await world.registry.createOrg({
      orgId: 'orgNotInTallyfy',
      name: 'Broken',
      authMode: 'password',
      credentialsSecretId: 'x/orgs/orgNotInTallyfy/credentials',
      tokenSecretId: 'x/orgs/orgNotInTallyfy/token',
      webhookSecretHash: 'a'.repeat(64),
    });
    world.sandbox.setWebhookDelivery(false);
    await runPurchaseOrder(world, 'PO beside a broken org');
    world.clock.advance(SETTLE_MS);

    const result = await world.reconcile();

    expect(result.failedOrgs).toEqual(['orgNotInTallyfy']);
    expect(result.results.find((r) => r.orgId === world.orgId)?.recovered).toBe(5);
    expect(result.recovered).toBe(5);
    await world.registry.setStatus('orgNotInTallyfy', 'disabled');
  });

  test('a client-credentials org is skipped: its app token lists no tasks or processes', async () => {
    await world.registry.createOrg({
      orgId: 'orgAppOnly',
      name: 'App only',
      authMode: 'client_credentials',
      credentialsSecretId: 'x/orgs/orgAppOnly/credentials',
      tokenSecretId: 'x/orgs/orgAppOnly/token',
      webhookSecretHash: 'b'.repeat(64),
    });
    const result = await world.reconcile({ orgId: 'orgAppOnly' });
    expect(result.failedOrgs).toEqual([]);
    expect(result.results).toEqual([
      expect.objectContaining({
        orgId: 'orgAppOnly',
        status: 'skipped',
        reason: 'auth_mode_client_credentials',
        streams: [],
      }),
    ]);
    await world.registry.setStatus('orgAppOnly', 'disabled');
  });

  test('on-demand input is validated: unknown keys and unknown orgs are refused', async () => {
    await expect(world.reconcile({ orgid: world.orgId })).rejects.toMatchObject({
      code: 'RECONCILE_INPUT_INVALID',
    });
    await expect(world.reconcile({ orgId: 'nobodyHere' })).rejects.toMatchObject({
      code: 'RECONCILE_ORG_NOT_FOUND',
    });
    const scheduled = await world.reconcile({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      detail: {},
    });
    expect(scheduled.recovered).toBe(0);
  });
});
