/**
 * Issue 11 point 1: an action whose outcome is unknown is settled by looking in Tallyfy, never
 * dropped; what cannot be settled is dead-lettered as ACTION_IN_DOUBT for the operator, whose
 * replay resolves it. Issue 12 §3: a long Retry-After is waited out without using a receive.
 * Effects are counted in the sandbox's own state.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { EventEnvelope } from '../../../shared/events/index.ts';
import { actionMarker } from '../../../shared/orgs/index.ts';
import { commentsOf, runsWithMarker, startWorld, type World } from './support.ts';

let world: World;
let seq = 0;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => {
  world.sandbox.clearFaults();
  world.actions.length = 0;
  world.queue.deadLetters.length = 0;
  world.queue.deferrals.length = 0;
  world.queue.visibilityChanges.length = 0;
});

/** A comment rule on the purchase order's first step. */
async function commentRule(ruleId: string): Promise<void> {
  await world.putRule({
    ruleId,
    body: {
      when: { event: 'task.completed', step: { alias: 'request-details' } },
      // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
      then: [{ type: 'comment_on_task', content: 'Request received for {{process.name}}.' }],
    },
  });
}

/** Launches a purchase order, completes its first task; returns the task id (webhook queued). */
async function completedFirstTask(): Promise<string> {
  const { sandbox, orgId } = world;
  const run = await world.admin.launchRun(orgId, {
    checklistId: sandbox.demo.templates.purchaseOrder.id,
    name: `Doubt ${++seq}`,
  });
  const [first] = sandbox.store.tasksOfRun(run.id);
  await sandbox.completeTask(orgId, first?.id ?? '');
  await sandbox.flushWebhooks();
  return first?.id ?? '';
}

/** The task.completed envelope the bus got for `taskId`. */
const eventOf = (taskId: string): EventEnvelope | undefined =>
  world.bus.published.find((e) => e.type === 'task.completed' && e.subject === taskId);

const outcomesOf = (ruleId: string) =>
  world.actions
    .filter((a) => a.ruleId === ruleId)
    .map((a) => `${a.outcome}${a.inDoubt === true ? ' (in doubt)' : ''}`);

describe('actions in doubt are settled by looking', () => {
  test('a comment attempt that took effect but answered 500 is not posted again', async () => {
    await commentRule('took-effect');
    world.sandbox.injectFault({
      method: 'POST',
      path: /\/comment$/,
      status: 500,
      timing: 'after',
      times: 1,
    });
    const taskId = await completedFirstTask();
    await world.queue.drain(world.worker);

    expect(commentsOf(world, taskId)).toHaveLength(1); // posted once, by the 500'd attempt
    expect(outcomesOf('took-effect')).toEqual(['failed', 'recovered (in doubt)']);
    // the retry waited for the attempt's lease (120 s) before it looked
    expect(world.queue.visibilityChanges).toEqual([expect.any(Number)]);
    expect(world.queue.visibilityChanges[0]).toBeGreaterThanOrEqual(120);
    const event = eventOf(taskId);
    expect((await world.registry.getEvent(event?.id ?? ''))?.status).toBe('done');
    expect(world.queue.deadLetters).toEqual([]);
    await world.registry.deleteRule(world.orgId, 'took-effect');
  });

  test('a comment attempt that did not take effect is posted on the retry, once', async () => {
    await commentRule('no-effect');
    world.sandbox.injectFault({ method: 'POST', path: /\/comment$/, status: 500, times: 1 });
    const taskId = await completedFirstTask();
    await world.queue.drain(world.worker);

    const comments = commentsOf(world, taskId);
    expect(comments.map((c) => c.text)).toEqual([`Request received for Doubt ${seq}.`]);
    expect(comments[0]?.marker).toBe(
      actionMarker({ dedupeKey: eventOf(taskId)?.id ?? '', ruleId: 'no-effect', actionIndex: 0 }),
    );
    expect(outcomesOf('no-effect')).toEqual(['failed', 'done (in doubt)']);
    expect(world.queue.deadLetters).toEqual([]);
    await world.registry.deleteRule(world.orgId, 'no-effect');
  });

  test('a launch that took effect but answered 500 is found with one narrow run query', async () => {
    const { sandbox, orgId } = world;
    await world.putRule({
      ruleId: 'launch-doubt',
      body: {
        when: { event: 'task.completed', step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'launch_process',
            template: sandbox.demo.templates.onboarding.id,
            name: 'Onboard after {{process.name}}',
          },
        ],
      },
    });
    const taskId = await completedFirstTask();
    sandbox.injectFault({
      method: 'POST',
      path: /\/runs$/,
      status: 500,
      timing: 'after',
      times: 1,
    });
    const listsBefore = sandbox.stats().requests['GET /organizations/:org/runs'] ?? 0;
    await world.queue.drain(world.worker);

    const marker = actionMarker({
      dedupeKey: eventOf(taskId)?.id ?? '',
      ruleId: 'launch-doubt',
      actionIndex: 0,
    });
    expect(runsWithMarker(world, marker)).toHaveLength(1);
    expect(runsWithMarker(world, marker)[0]?.name).toBe(`Onboard after Doubt ${seq} [${marker}]`);
    expect(outcomesOf('launch-doubt')).toEqual(['failed', 'recovered (in doubt)']);
    // `checklist_id` + `q=<marker>`: one page, however many runs the template has
    expect((sandbox.stats().requests['GET /organizations/:org/runs'] ?? 0) - listsBefore).toBe(1);
    await world.registry.deleteRule(orgId, 'launch-doubt');
  });
});

describe('a doubt that cannot be settled goes to the operator', () => {
  /** Leaves the comment in doubt and its look failing until the event runs out of receives. */
  async function unresolvable(ruleId: string): Promise<{ taskId: string; letter: EventEnvelope }> {
    await commentRule(ruleId);
    world.sandbox.injectFault({ method: 'POST', path: /\/comment$/, status: 500, times: 1 });
    // the task with its comments cannot be read: every look fails (after the client's retries)
    const stopLooking = world.sandbox.injectFault({
      method: 'GET',
      path: /^\/organizations\/[^/]+\/tasks\/[^/]+$/,
      status: 500,
    });
    const taskId = await completedFirstTask();
    await world.queue.drain(world.worker);
    stopLooking();
    expect(world.queue.deadLetters).toHaveLength(1);
    const [dead] = world.queue.deadLetters;
    expect(dead?.via).toBe('worker'); // the worker's own letter, with its reason, not a redrive
    return { taskId, letter: JSON.parse(dead?.body ?? '') as EventEnvelope };
  }

  test('it is dead-lettered as ACTION_IN_DOUBT with what is known, and never counted done', async () => {
    const { taskId, letter } = await unresolvable('cannot-look');
    const [dead] = world.queue.deadLetters;
    expect(dead?.attributes).toMatchObject({ failureCode: 'ACTION_IN_DOUBT', receiveCount: '5' });
    expect(dead?.attributes?.failureReason).toMatch(
      /^not processed after 5 receives \(the last the queue allows\): rule cannot-look action 0: an earlier attempt may have taken effect, and looking for it failed: /,
    );
    const marker = actionMarker({ dedupeKey: letter.id, ruleId: 'cannot-look', actionIndex: 0 });
    expect(JSON.parse(dead?.attributes?.actionsInDoubt ?? '[]')).toEqual([
      { ruleId: 'cannot-look', actionIndex: 0, type: 'comment_on_task', marker },
    ]);
    expect((await world.registry.getEvent(letter.id))?.status).toBe('failed');
    expect(world.bus.published.filter((e) => e.id === letter.id)).toEqual([]);
    expect(commentsOf(world, taskId)).toEqual([]);
    expect(
      world.actions.filter((a) => a.ruleId === 'cannot-look').every((a) => a.outcome === 'failed'),
    ).toBe(true);
    await world.registry.deleteRule(world.orgId, 'cannot-look');
  });

  test('the operator marks it done: recorded done, nothing posted', async () => {
    const { taskId, letter } = await unresolvable('mark-done');
    world.queue.sendBody(
      JSON.stringify({
        ...letter,
        origin: 'replay',
        resolution: { as: 'done', actions: [{ ruleId: 'mark-done', actionIndex: 0 }] },
      }),
      world.orgId,
    );
    world.advance(121_000); // past the last attempt's lease
    await world.queue.drain(world.worker);
    expect(commentsOf(world, taskId)).toEqual([]);
    expect(outcomesOf('mark-done').at(-1)).toBe('marked_done (in doubt)');
    expect((await world.registry.getEvent(letter.id))?.status).toBe('done');
    // published once, without the operator's resolution
    const published = world.bus.published.filter((e) => e.id === letter.id);
    expect(published).toHaveLength(1);
    expect(published[0]).not.toHaveProperty('resolution');
    await world.registry.deleteRule(world.orgId, 'mark-done');
  });

  test('the operator retries it: posted once', async () => {
    const { taskId, letter } = await unresolvable('retry-it');
    world.queue.sendBody(
      JSON.stringify({
        ...letter,
        origin: 'replay',
        resolution: { as: 'retry', actions: [{ ruleId: 'retry-it', actionIndex: 0 }] },
      }),
      world.orgId,
    );
    world.advance(121_000);
    await world.queue.drain(world.worker);
    expect(commentsOf(world, taskId).map((c) => c.text)).toEqual([
      `Request received for Doubt ${seq}.`,
    ]);
    expect((await world.registry.getEvent(letter.id))?.status).toBe('done');
    await world.registry.deleteRule(world.orgId, 'retry-it');
  });

  test('a transient failure on the last receive is dead-lettered with its own code', async () => {
    await commentRule('always-refused');
    const stop = world.sandbox.injectFault({ method: 'POST', path: /\/comment$/, status: 503 });
    const taskId = await completedFirstTask();
    await world.queue.drain(world.worker);
    stop();
    const [dead] = world.queue.deadLetters;
    expect(world.queue.deadLetters).toHaveLength(1);
    expect(dead?.via).toBe('worker');
    expect(dead?.attributes?.failureCode).toBe('TALLYFY_SERVER_ERROR');
    expect(dead?.attributes?.actionsInDoubt).toBeUndefined(); // 503 was refused: no doubt
    expect(dead?.attributes?.failureReason).toMatch(/^not processed after 5 receives/);
    expect(commentsOf(world, taskId)).toEqual([]);
    await world.registry.deleteRule(world.orgId, 'always-refused');
  });
});

describe('rate limits longer than the client waits', () => {
  test('a 429 asking for 90 s defers the event without using a receive; it runs after the wait', async () => {
    await commentRule('slow-down');
    // every attempt of the first receive is refused with Retry-After: 90 (the client retries 4x)
    world.sandbox.injectFault({
      method: 'POST',
      path: /\/comment$/,
      status: 429,
      retryAfterSeconds: 90,
      times: 5,
    });
    const taskId = await completedFirstTask();
    const first = world.queue.receive(10);
    if (first === undefined) throw new Error('nothing queued');
    const response = await world.worker(first);
    world.queue.settle(first, response);
    expect(response.batchItemFailures).toEqual([]); // done with: a copy waits in the queue
    expect(world.queue.deferrals).toEqual([
      { delaySeconds: 90, deferrals: 1, deferredUntilMs: expect.any(Number) },
    ]);
    expect(world.queue.visibilityChanges).toEqual([]);
    // the deferred copy is a new message: no receive used (the launch's event is done with)
    expect(world.queue.messages.map((m) => m.receiveCount)).toEqual([0]);
    expect(commentsOf(world, taskId)).toEqual([]);

    await world.queue.drain(world.worker);
    expect(commentsOf(world, taskId)).toHaveLength(1);
    expect(world.queue.deadLetters).toEqual([]);
    await world.registry.deleteRule(world.orgId, 'slow-down');
  });

  test('a wait over 15 minutes is deferred in 15-minute steps, with no call to Tallyfy between', async () => {
    await commentRule('hourly-cap');
    world.sandbox.injectFault({
      method: 'POST',
      path: /\/comment$/,
      status: 429,
      retryAfterSeconds: 2700,
      body: { message: 'Too many comments.', code: 'RATE_LIMIT_EXCEEDED' },
      times: 1,
    });
    const taskId = await completedFirstTask();
    const before = world.sandbox.stats();
    await world.queue.drain(world.worker);
    expect(world.queue.deferrals.map((d) => [d.delaySeconds, d.deferrals])).toEqual([
      [900, 1],
      [900, 2],
      [900, 3],
    ]);
    expect(commentsOf(world, taskId)).toHaveLength(1);
    // Tallyfy saw one refused attempt (a Retry-After beyond the client's cap is not retried
    // early), then, 45 minutes later, only the one that posted
    const after = world.sandbox.stats();
    expect(after.faultsInjected - before.faultsInjected).toBe(1);
    const posts = 'POST /organizations/:org/tasks/:task/comment';
    expect((after.requests[posts] ?? 0) - (before.requests[posts] ?? 0)).toBe(1);
    await world.registry.deleteRule(world.orgId, 'hourly-cap');
  });
});
