/**
 * Issue 12 §3, the client side as the worker sees it: Tallyfy's hourly action cap
 * (429 `code: "RATE_LIMIT_EXCEEDED"`, Retry-After up to an hour) is a delay, never a permanent
 * failure: the action is not re-run in-process (each early retry earns another 429), the message
 * is deferred no sooner than Tallyfy asked (without using a receive), and once the cap lifts the comment is posted once.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWorld, type World } from './support.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld({ refusalRetries: 2 });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe('an hourly action cap', () => {
  test('is a delay: no in-process retry, the message waits Retry-After, then the comment is posted once', async () => {
    const { sandbox, orgId } = world;
    const taskId = sandbox.demo.tasks.approvePo;
    await world.putRule({
      ruleId: 'comment-capped',
      body: {
        when: { event: 'task.completed', step: { alias: 'approve-po' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'comment_on_task', content: 'Approved, noted.' }],
      },
    });
    // the org has used its hour's comments
    sandbox.setActionCaps({ commentsPerHour: 1 });
    await world.admin.commentOnTask(orgId, taskId, 'the last comment of the hour');
    const commentCalls = () =>
      sandbox.stats().requests['POST /organizations/:org/tasks/:task/comment'] ?? 0;
    const limitedBefore = sandbox.stats().rateLimited;
    await sandbox.completeTask(orgId, taskId);
    await sandbox.flushWebhooks();

    await world.queue.drain(world.worker, { maxBatches: 1 });

    expect(world.queue.deadLetters).toEqual([]);
    expect(world.queue.messages).toHaveLength(1);
    // one refused call: neither the client nor the engine retried it early
    expect(commentCalls()).toBe(2);
    expect(sandbox.stats().rateLimited - limitedBefore).toBe(1);
    // deferred no sooner than Tallyfy asked (the rest of the hour; SQS delays at most 900 s
    // at a time), without using a receive
    expect(world.queue.visibilityChanges).toEqual([]);
    expect(world.queue.deferrals).toHaveLength(1);
    const [deferral] = world.queue.deferrals;
    expect(deferral?.delaySeconds).toBe(900);
    expect(deferral?.deferredUntilMs).toBeGreaterThan(Date.now() + 900_000);

    // the hour is over: the redelivery posts the comment, once (the deferred copy arrives
    // every 900 s until Tallyfy's wait is over, without calling Tallyfy)
    sandbox.setActionCaps(false);
    await world.queue.drain(world.worker);
    expect(world.queue.deadLetters).toEqual([]);
    expect(
      sandbox.store.commentsOf(taskId).filter((c) => c.content.startsWith('Approved, noted.')),
    ).toHaveLength(1);
  });
});
