import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { actionMarker } from '../../../shared/orgs/index.ts';
import { commentsOf, runsWithMarker, startWorld, type World } from './support.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  await world?.close();
});

describe('webhook to automation, end to end', () => {
  test('a task completed in the sandbox launches a process and comments on the task; the event is published once', async () => {
    const { sandbox, orgId } = world;
    const { tasks, templates } = sandbox.demo;
    await world.putRule({
      ruleId: 'po-approved',
      body: {
        when: {
          event: 'task.completed',
          template: { name: 'purchase order' },
          step: { alias: 'approve-po' },
          fields: { vendor: { exists: true } },
        },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'launch_process',
            template: templates.onboarding.id,
            name: 'Follow-up: {{process.name}}',
            summary: 'Approved by {{completer.full_name?}}',
          },
          {
            type: 'comment_on_task',
            content: 'Follow-up process {{actions.0.runId}} launched for {{fields.vendor}}.',
          },
        ],
      },
    });
    const runsBefore = sandbox.store.runsOf(orgId).length;

    // Tallyfy side: the task is completed; its webhook reaches our receiver over HTTP
    await sandbox.completeTask(orgId, tasks.approvePo);
    await sandbox.flushWebhooks();
    expect(
      sandbox
        .webhookDeliveries()
        .filter((d) => d.event === 'task.completed')
        .at(-1),
    ).toMatchObject({ ok: true, status: 202 });
    expect(world.queue.sent).toBe(1);

    await world.queue.drain(world.worker);
    // the launch's own process.launched webhook arrives too, and is processed as well
    await sandbox.flushWebhooks();
    await world.queue.drain(world.worker);

    const completed = world.bus.published.filter((e) => e.type === 'task.completed');
    expect(completed).toHaveLength(1);
    const event = completed[0];
    expect(event?.subject).toBe(tasks.approvePo);
    const marker = actionMarker({
      dedupeKey: event?.id ?? '',
      ruleId: 'po-approved',
      actionIndex: 0,
    });
    const launched = runsWithMarker(world, marker);
    expect(launched).toHaveLength(1);
    expect(sandbox.store.runsOf(orgId).length).toBe(runsBefore + 1);
    expect(launched[0]?.checklistId).toBe(templates.onboarding.id);
    expect(launched[0]?.name).toMatch(/^Follow-up: /);

    // the name and the comment end with their action's marker, so a doubt can be settled
    expect(launched[0]?.name).toMatch(new RegExp(` \\[${marker}\\]$`));
    const comments = commentsOf(world, tasks.approvePo);
    expect(comments).toEqual([
      {
        text: `Follow-up process ${launched[0]?.id} launched for Northwind Traders.`,
        marker: actionMarker({ dedupeKey: event?.id ?? '', ruleId: 'po-approved', actionIndex: 1 }),
      },
    ]);
    expect(
      world.bus.published.filter(
        (e) => e.type === 'process.launched' && e.subject === launched[0]?.id,
      ),
    ).toHaveLength(1);
    expect((await world.registry.getEvent(event?.id ?? ''))?.status).toBe('done');
    expect(world.queue.messages).toHaveLength(0);
    expect(world.queue.deadLetters).toHaveLength(0);

    // the same webhook delivered again (Tallyfy duplicates happen): nothing new happens
    world.queue.sendBody(JSON.stringify(event), orgId);
    await world.queue.drain(world.worker);
    expect(world.bus.published.filter((e) => e.type === 'task.completed')).toHaveLength(1);
    expect(runsWithMarker(world, marker)).toHaveLength(1);
    expect(sandbox.store.commentsOf(tasks.approvePo)).toHaveLength(1);
  });
});
