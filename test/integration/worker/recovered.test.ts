/**
 * A recovered event is the same event (issue 12 §4), end to end: the reconciler finds a lost
 * webhook through the sandbox's API and the worker runs it through the same rule, with the same
 * result, as the webhook of a twin run. And a failed event does not swallow its better delivery
 * (issue 11 point 3): the real webhook that arrives after a recovered copy failed runs.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EventEnvelope } from '../../../shared/events/index.ts';
import { createLogger, memorySink } from '../../../shared/observability/index.ts';
import { actionMarker } from '../../../shared/orgs/index.ts';
import {
  createDynamoSeenEvents,
  type ReconcileDeps,
  reconcile,
} from '../../../shared/reconcile/index.ts';
import { commentsOf, runsWithMarker, startWorld, type World } from './support.ts';
import { localDynamo } from './worker-deps.ts';

let world: World;
let deps: ReconcileDeps;
let closeDynamo: () => void;

beforeAll(async () => {
  world = await startWorld();
  const { document } = localDynamo(world.endpoints.dynamoEndpoint);
  closeDynamo = () => document.destroy();
  const clock = () => Date.now() + 121_000; // past the reconciler's settle time
  deps = {
    registry: world.registry,
    seen: createDynamoSeenEvents({ client: document, tableName: world.endpoints.tableName, clock }),
    queue: world.queue,
    tallyfyFor: () => world.admin,
    clock,
    logger: createLogger({ serviceName: 'reconciler', level: 'WARN', sink: memorySink().sink }),
    options: { overlapMinutes: 10, initialLookbackMinutes: 60 },
  };
  await reconcile(deps, { orgId: world.orgId }); // absorbs the demo seed's history
  await world.queue.drain(world.worker);
});

afterAll(async () => {
  closeDynamo?.();
  await world?.close();
});

/** Launches a purchase order named `name` and completes its first task; returns that task. */
async function completeFirstTask(name: string): Promise<string> {
  const { sandbox, orgId } = world;
  const run = await world.admin.launchRun(orgId, {
    checklistId: sandbox.demo.templates.purchaseOrder.id,
    name,
    prerun: { vendor: 'Northwind Traders', 'requested-amount': '12500' },
  });
  const [first] = sandbox.store.tasksOfRun(run.id);
  await sandbox.completeTask(orgId, first?.id ?? '');
  await sandbox.flushWebhooks();
  return first?.id ?? '';
}

describe('a recovered event runs through the same rule as its webhook', () => {
  test('the rule renders the same comment from the webhook and from the recovered event', async () => {
    await world.putRule({
      ruleId: 'same-rule',
      body: {
        when: {
          event: 'task.completed',
          template: { name: 'purchase order' },
          step: { alias: 'request-details' },
          fields: { vendor: { contains: 'northwind' }, 'requested-amount': { gte: 1000 } },
        },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'comment_on_task',
            content:
              '{{process.name}} ({{template.title}}) by {{completer.full_name}}: {{fields.vendor}}, next {{data.next_task.alias}}',
          },
        ],
      },
    });
    // the twin that came by webhook
    const byWebhook = await completeFirstTask('PO twin');
    await world.queue.drain(world.worker);
    // the one whose webhook was lost
    world.sandbox.setWebhookDelivery(false);
    const lost = await completeFirstTask('PO twin');
    world.sandbox.setWebhookDelivery(true);
    expect(world.queue.messages).toEqual([]);

    const result = await reconcile(deps, { orgId: world.orgId });
    expect(result.recovered).toBeGreaterThanOrEqual(2); // the launch and the completion
    await world.queue.drain(world.worker);

    const expected = 'PO twin (Purchase order) by Priya Raman: Northwind Traders, next approve-po';
    expect(commentsOf(world, byWebhook).map((c) => c.text)).toEqual([expected]);
    expect(commentsOf(world, lost).map((c) => c.text)).toEqual([expected]);
    const recovered = world.bus.published.find(
      (e) => e.type === 'task.completed' && e.subject === lost,
    );
    expect(recovered?.origin).toBe('reconciler');
    expect(world.queue.deadLetters).toEqual([]);
    await world.registry.deleteRule(world.orgId, 'same-rule');
  });
});

describe('a failed event does not swallow its better delivery', () => {
  test('the real webhook arriving after its recovered copy failed runs, once', async () => {
    const { sandbox, orgId } = world;
    // a rule broken at first: its template id names nothing
    const rule = (template: string) => ({
      ruleId: 'late-webhook',
      body: {
        when: { event: 'task.completed' as const, step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'launch_process', template, name: 'Follow-up of {{process.name}}' }],
      },
    });
    await world.putRule(rule('no-such-template'));
    const taskId = await completeFirstTask('PO late webhook');
    // the webhook is delayed on its way (held back), so the reconciler recovers the event first
    const held = world.queue.messages.splice(0);
    const webhook = held
      .map((m) => JSON.parse(m.body) as EventEnvelope)
      .find((e) => e.type === 'task.completed' && e.subject === taskId);
    expect(webhook?.origin).toBe('webhook');
    await reconcile(deps, { orgId });
    await world.queue.drain(world.worker);
    const letters = world.queue.deadLetters.filter((l) => l.body.includes(taskId));
    expect(letters.map((l) => l.attributes?.failureCode)).toEqual(['TALLYFY_VALIDATION_FAILED']);
    expect(JSON.parse(letters[0]?.body ?? '{}').origin).toBe('reconciler');
    expect((await world.registry.getEvent(webhook?.id ?? ''))?.status).toBe('failed');

    // the rule is fixed; then the real webhook arrives: it is not dropped as a duplicate
    await world.putRule(rule(sandbox.demo.templates.onboarding.id));
    for (const message of held) world.queue.sendBody(message.body, message.orgId);
    await world.queue.drain(world.worker);
    const marker = actionMarker({
      dedupeKey: webhook?.id ?? '',
      ruleId: 'late-webhook',
      actionIndex: 0,
    });
    expect(runsWithMarker(world, marker)).toHaveLength(1);
    expect((await world.registry.getEvent(webhook?.id ?? ''))?.status).toBe('done');

    // and once done, a further copy changes nothing
    world.queue.sendBody(JSON.stringify(webhook), orgId);
    await world.queue.drain(world.worker);
    expect(runsWithMarker(world, marker)).toHaveLength(1);
    await world.registry.deleteRule(orgId, 'late-webhook');
  });
});
