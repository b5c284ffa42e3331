import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EventEnvelope } from '../../../shared/events/index.ts';
import { actionMarker } from '../../../shared/orgs/index.ts';
import { commentsOf, runsWithMarker, startWorld, type World } from './support.ts';

let world: World;

beforeAll(async () => {
  // no in-process retries: every refused action goes back through the queue
  world = await startWorld({ refusalRetries: 0 });
});

afterAll(async () => {
  await world?.close();
});

/** Launches `count` purchase-order runs and completes each one's first task (its webhook queued). */
async function completedFirstTasks(count: number, label: string): Promise<string[]> {
  const { sandbox, orgId } = world;
  const taskIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const run = await world.admin.launchRun(orgId, {
      checklistId: sandbox.demo.templates.purchaseOrder.id,
      name: `${label} ${i}`,
    });
    const [first] = sandbox.store.tasksOfRun(run.id);
    await sandbox.completeTask(orgId, first?.id ?? '');
    taskIds.push(first?.id ?? '');
  }
  await sandbox.flushWebhooks();
  return taskIds;
}

const completedEvents = (taskIds: readonly string[]): EventEnvelope[] =>
  world.bus.published.filter(
    (e) => e.type === 'task.completed' && taskIds.includes(e.subject ?? ''),
  );

describe('worker under Tallyfy failures', () => {
  test('with 30% of Tallyfy calls failing transiently every event ends processed and none is dead-lettered', async () => {
    const { sandbox } = world;
    await world.putRule({
      ruleId: 'request-in',
      body: {
        when: {
          event: 'task.completed',
          template: { name: 'Purchase order' },
          step: { alias: 'request-details' },
        },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'launch_process',
            template: sandbox.demo.templates.onboarding.id,
            name: 'Onboarding for {{process.name}}',
          },
          { type: 'comment_on_task', content: 'Onboarding {{actions.0.runId}} launched.' },
        ],
      },
    });
    const taskIds = await completedFirstTasks(12, 'Flaky');
    // 503 (maintenance / no healthy upstream: refused before processing) on 20% of calls and
    // 429 with Retry-After on 12.5% of the rest: 30% of calls fail, on every path and method
    sandbox.injectFault({ status: 503, probability: 0.2, seed: 11 });
    sandbox.injectFault({ status: 429, retryAfterSeconds: 1, probability: 0.125, seed: 12 });
    try {
      await world.queue.drain(world.worker);
      await sandbox.flushWebhooks(); // process.launched hooks of the launched runs
      await world.queue.drain(world.worker);
    } finally {
      sandbox.clearFaults();
    }

    const stats = sandbox.stats();
    const calls = Object.entries(stats.requests)
      .filter(([route]) => route.startsWith('POST'))
      .reduce((sum, [, n]) => sum + n, 0);
    expect(stats.faultsInjected).toBeGreaterThan(calls * 0.1);
    expect(world.queue.deadLetters).toEqual([]);
    expect(world.queue.messages).toEqual([]);
    // failed attempts went back to the queue with a backoff of 10 s · 2^(receives-1) ± 20%
    expect(world.queue.visibilityChanges.length).toBeGreaterThan(0);
    expect(Math.min(...world.queue.visibilityChanges)).toBeGreaterThanOrEqual(8);
    expect(world.actions.filter((a) => a.outcome === 'failed').length).toBe(
      world.queue.visibilityChanges.length,
    );
    const events = completedEvents(taskIds);
    expect(events.map((e) => e.subject).sort()).toEqual([...taskIds].sort());
    for (const event of events) {
      const marker = actionMarker({ dedupeKey: event.id, ruleId: 'request-in', actionIndex: 0 });
      const runs = runsWithMarker(world, marker);
      expect(runs).toHaveLength(1);
      expect(commentsOf(world, event.subject ?? '').map((c) => c.text)).toEqual([
        `Onboarding ${runs[0]?.id} launched.`,
      ]);
      expect((await world.registry.getEvent(event.id))?.status).toBe('done');
    }
    await world.registry.deleteRule(world.orgId, 'request-in');
  });

  test('a permanent failure dead-letters with its reason, and a replay after the fix runs it', async () => {
    const { sandbox, orgId } = world;
    await world.putRule({
      ruleId: 'bad-template',
      body: {
        when: { event: 'task.completed', step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'launch_process', template: 'no-such-template', name: 'Never' }],
      },
    });
    const [taskId] = await completedFirstTasks(1, 'Doomed');
    await world.queue.drain(world.worker);

    expect(world.queue.deadLetters).toHaveLength(1);
    const [letter] = world.queue.deadLetters;
    expect(letter?.via).toBe('worker');
    expect(letter?.attributes).toMatchObject({
      failureCode: 'TALLYFY_VALIDATION_FAILED',
      orgId,
      type: 'task.completed',
      receiveCount: '1',
    });
    expect(letter?.attributes?.failureReason).toMatch(/^rule bad-template action 0: /);
    const envelope = JSON.parse(letter?.body ?? '') as EventEnvelope;
    expect(envelope.subject).toBe(taskId);
    expect((await world.registry.getEvent(envelope.id))?.status).toBe('failed');
    expect(world.bus.published.filter((e) => e.id === envelope.id)).toEqual([]);

    // a replay after the rule is fixed runs it
    await world.putRule({
      ruleId: 'bad-template',
      body: {
        when: { event: 'task.completed', step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          { type: 'launch_process', template: sandbox.demo.templates.onboarding.id, name: 'Fixed' },
        ],
      },
    });
    world.queue.sendBody(JSON.stringify({ ...envelope, origin: 'replay' }), orgId);
    await world.queue.drain(world.worker);
    const marker = actionMarker({ dedupeKey: envelope.id, ruleId: 'bad-template', actionIndex: 0 });
    expect(runsWithMarker(world, marker)).toHaveLength(1);
    expect((await world.registry.getEvent(envelope.id))?.status).toBe('done');
    expect(world.bus.published.filter((e) => e.id === envelope.id)).toHaveLength(1);
    await world.registry.deleteRule(orgId, 'bad-template');
  });

  test('events of an org that needs re-authorisation, and malformed messages, are dead-lettered at once', async () => {
    const { orgId } = world;
    const before = world.queue.deadLetters.length;
    await world.registry.setStatus(orgId, 'needs_reauth');
    try {
      await completedFirstTasks(1, 'Reauth');
      world.queue.sendBody('{"not":"an envelope"}');
      await world.queue.drain(world.worker);
    } finally {
      await world.registry.setStatus(orgId, 'active');
    }
    const letters = world.queue.deadLetters.slice(before);
    expect(letters.map((l) => l.attributes?.failureCode).sort()).toEqual([
      'AUTOMATIONS_ORG_NEEDS_REAUTH',
      'AUTOMATIONS_ORG_NEEDS_REAUTH', // the run's process.launched event and its task.completed event
      'EVENTS_ENVELOPE_INVALID',
    ]);
    expect(letters.every((l) => l.via === 'worker' && l.attributes?.receiveCount === '1')).toBe(
      true,
    );
    expect(world.queue.messages).toEqual([]);
  });

  test('a placeholder naming nothing dead-letters the event; a rule with an invalid body is skipped loudly', async () => {
    const { orgId } = world;
    await world.putRule({ ruleId: 'broken-body', body: { when: { event: 'task.exploded' } } });
    await world.putRule({
      ruleId: 'typo',
      body: {
        when: { event: 'task.completed', step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'comment_on_task', content: 'Vendor: {{fields.vendr}}' }],
      },
    });
    const before = world.queue.deadLetters.length;
    const [taskId] = await completedFirstTasks(1, 'Typo');
    await world.queue.drain(world.worker);
    const letters = world.queue.deadLetters.slice(before);
    expect(letters.map((l) => l.attributes?.failureCode)).toEqual(['AUTOMATIONS_TEMPLATE_FAILED']);
    expect(letters[0]?.attributes?.failureReason).toMatch(/\{\{fields\.vendr\}\}/);
    expect(world.sandbox.store.commentsOf(taskId ?? '')).toEqual([]);
    expect(
      world.parts.logLines.some(
        (l) => l.includes('automation rule is invalid') && l.includes('broken-body'),
      ),
    ).toBe(true);
    await world.registry.deleteRule(orgId, 'broken-body');
    await world.registry.deleteRule(orgId, 'typo');
  });
});
