/**
 * Issue 12 §2: a client-credentials (app) token on a user-scoped endpoint. Tallyfy answers 401
 * because the token has no user, not because it is stale: the worker must not spend a grant on
 * it (no refresh request), and the event must be dead-lettered on its first delivery with a
 * reason that says what to do, not after five deliveries of "unauthorized".
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import { clientCredentialsGrant } from '../../../shared/tallyfy/index.ts';
import { startWorld, type World } from './support.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld({ refusalRetries: 2 });
  const { sandbox, orgId, parts } = world;
  // the org as `orgs add --auth-mode client_credentials` leaves it: an app token in its secret
  const app = await clientCredentialsGrant(
    {
      clientId: sandbox.demo.appClient.clientId,
      clientSecret: new Secret(sandbox.demo.appClient.clientSecret),
    },
    { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
  );
  await parts.tokenStore.writeToken(
    orgId,
    {
      accessToken: app.accessToken,
      tokenType: app.tokenType,
      expiresAt: app.expiresAt,
      obtainedAt: app.obtainedAt,
      authMode: 'client_credentials',
      orgId,
    },
    { clientRequestToken: randomUUID() },
  );
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe('an app token on a user-scoped endpoint', () => {
  test('dead-letters the event at once as TALLYFY_TOKEN_SCOPE_UNSUPPORTED, without a refresh or another grant', async () => {
    const { sandbox, orgId } = world;
    await world.putRule({
      ruleId: 'comment-as-app',
      body: {
        when: { event: 'task.completed', step: { alias: 'approve-po' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'comment_on_task', content: 'Seen.' }],
      },
    });
    const grantsBefore = JSON.stringify(sandbox.stats().grants);
    const taskId = sandbox.demo.tasks.approvePo;
    await sandbox.completeTask(orgId, taskId);
    await sandbox.flushWebhooks();
    expect(world.queue.sent).toBe(1);

    await world.queue.drain(world.worker);

    expect(world.queue.deadLetters).toHaveLength(1);
    const [letter] = world.queue.deadLetters;
    expect(letter?.via).toBe('worker');
    expect(letter?.attributes).toMatchObject({
      failureCode: 'TALLYFY_TOKEN_SCOPE_UNSUPPORTED',
      orgId,
      receiveCount: '1',
    });
    expect(letter?.attributes?.failureReason).toMatch(/client-credentials \(app\) token/);
    // no refresh was asked for, and Tallyfy issued no token: the 401 was about the kind of token
    expect(world.parts.refreshRequests).toEqual([]);
    expect(JSON.stringify(sandbox.stats().grants)).toBe(grantsBefore);
    // one refused call, not the engine's in-process retries: a scope refusal is permanent
    expect(sandbox.stats().requests['POST /organizations/:org/tasks/:task/comment']).toBe(1);
    expect(sandbox.store.commentsOf(taskId)).toEqual([]);
  });
});
