import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defineAutomation, verifySignature } from '../../../shared/automations/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { runsWithMarker, startWorld, type World } from './support.ts';
import { localSecretsManager, SECRET_PREFIX } from './worker-deps.ts';

const SIGNING_KEY = `whsec_${Buffer.from('partner signing key, 32 bytes..!').toString('base64')}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let world: World;
let partner: Server;
let partnerUrl: string;
const received: Received[] = [];
/** Statuses the partner answers with, in order; then 204. */
const answers: number[] = [];

const codeCalls: string[] = [];
const tagTask = defineAutomation({
  id: 'tag-onboarding',
  when: { event: 'task.completed', template: { name: 'Employee onboarding' } },
  async run({ orgId, view, marker, inDoubt, tallyfy }) {
    codeCalls.push(`${String(view.task?.id)}:${inDoubt}`);
    const comment = await tallyfy().commentOnTask(orgId, String(view.task?.id), `code ${marker}`);
    return { commentId: comment.id };
  },
});

beforeAll(async () => {
  world = await startWorld({ code: [tagTask] });
  partner = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answers.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
  partnerUrl = `http://127.0.0.1:${(partner.address() as AddressInfo).port}/hooks/tallyfy`;
  const sm = localSecretsManager(world.endpoints.secretsManagerEndpoint);
  await sm.send(
    new CreateSecretCommand({
      Name: `${SECRET_PREFIX}/automations/partner`,
      SecretString: SIGNING_KEY,
    }),
  );
  sm.destroy();
});

afterAll(async () => {
  partner?.closeAllConnections();
  await new Promise((resolve) => partner?.close(resolve));
  await world?.close();
});

describe('actions against real endpoints', () => {
  test('http_post is signed with the Secrets Manager key; a 500 is retried with the same webhook-id', async () => {
    const { sandbox, orgId } = world;
    await world.putRule({
      ruleId: 'notify-partner',
      body: {
        when: {
          event: 'task.completed',
          step: { alias: 'approve-po' },
          fields: { vendor: { contains: 'northwind' } },
        },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'http_post',
            url: partnerUrl,
            secret: { name: 'partner' },
            body: {
              task: '{{task.id}}',
              amount: '{{fields.requested-amount?}}',
              vendor: '{{fields.vendor}}',
            },
          },
          { type: 'publish', detailType: 'PO Approved', detail: { vendor: '{{fields.vendor}}' } },
        ],
      },
    });
    answers.push(500);
    await sandbox.completeTask(orgId, sandbox.demo.tasks.approvePo);
    await sandbox.flushWebhooks();
    await world.queue.drain(world.worker);

    expect(received).toHaveLength(2); // 500 (in doubt, resent), then 204
    const [first, second] = received;
    expect(first?.headers['webhook-id']).toBe(second?.headers['webhook-id']);
    // the same idempotency key on every attempt, for receivers that dedupe by it
    expect(first?.headers['idempotency-key']).toMatch(/^tsf-[0-9a-f]{16}$/);
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
    const key = new Secret(SIGNING_KEY);
    for (const delivery of received) {
      expect(
        verifySignature(key, delivery.headers, delivery.body, {
          nowSeconds: Math.floor(Date.now() / 1000),
        }),
      ).toBe(true);
      expect(
        verifySignature(new Secret('whsec_d3JvbmcgIGtleQ=='), delivery.headers, delivery.body, {
          nowSeconds: Math.floor(Date.now() / 1000),
        }),
      ).toBe(false);
    }
    expect(JSON.parse(second?.body ?? '')).toEqual({
      task: sandbox.demo.tasks.approvePo,
      amount: '12500',
      vendor: 'Northwind Traders',
    });
    expect(world.publisher.published).toEqual([
      expect.objectContaining({
        detailType: 'PO Approved',
        detail: expect.objectContaining({ vendor: 'Northwind Traders' }),
      }),
    ]);
    expect(world.queue.deadLetters).toEqual([]);
    await world.registry.deleteRule(orgId, 'notify-partner');
  });

  test('a 4xx from the partner dead-letters the event as AUTOMATIONS_HTTP_POST_REJECTED, the status in its reason', async () => {
    const { sandbox, orgId } = world;
    await world.putRule({
      ruleId: 'partner-refuses',
      body: {
        when: { event: 'task.completed', step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'http_post',
            url: partnerUrl,
            secret: { value: 'inline-signing-key-0123456789' },
          },
        ],
      },
    });
    const run = await world.admin.launchRun(orgId, {
      checklistId: sandbox.demo.templates.purchaseOrder.id,
      name: 'Refused',
    });
    answers.push(410);
    await sandbox.completeTask(orgId, sandbox.store.tasksOfRun(run.id)[0]?.id ?? '');
    await sandbox.flushWebhooks();
    await world.queue.drain(world.worker);
    expect(world.queue.deadLetters.map((l) => l.attributes?.failureCode)).toEqual([
      'AUTOMATIONS_HTTP_POST_REJECTED',
    ]);
    expect(world.queue.deadLetters[0]?.attributes?.failureReason).toMatch(/answered 410$/);
    await world.registry.deleteRule(orgId, 'partner-refuses');
  });

  test('an http_post in doubt with onDoubt dead_letter is not resent: ACTION_IN_DOUBT at once', async () => {
    const { sandbox, orgId } = world;
    await world.putRule({
      ruleId: 'ask-first',
      body: {
        when: { event: 'task.completed', step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'http_post',
            url: partnerUrl,
            secret: { value: 'inline-signing-key-0123456789' },
            onDoubt: 'dead_letter',
          },
        ],
      },
    });
    const run = await world.admin.launchRun(orgId, {
      checklistId: sandbox.demo.templates.purchaseOrder.id,
      name: 'Ask first',
    });
    const before = received.length;
    answers.push(502);
    world.queue.deadLetters.length = 0;
    await sandbox.completeTask(orgId, sandbox.store.tasksOfRun(run.id)[0]?.id ?? '');
    await sandbox.flushWebhooks();
    await world.queue.drain(world.worker);
    expect(received.length - before).toBe(1); // the 502'd attempt only
    const letters = world.queue.deadLetters;
    expect(letters.map((l) => l.attributes?.failureCode)).toEqual(['ACTION_IN_DOUBT']);
    expect(letters[0]?.attributes?.receiveCount).toBe('2');
    expect(letters[0]?.attributes?.failureReason).toMatch(/onDoubt: dead_letter/);
    await world.registry.deleteRule(orgId, 'ask-first');
  });

  test('complete_task completes the next task; a code automation runs once with the same matching', async () => {
    const { sandbox, orgId } = world;
    const run = await world.admin.launchRun(orgId, {
      checklistId: sandbox.demo.templates.purchaseOrder.id,
      name: 'Auto-complete',
    });
    const [first, second] = sandbox.store.tasksOfRun(run.id);
    await world.putRule({
      ruleId: 'auto-approve',
      body: {
        when: {
          event: 'task.completed',
          template: { id: sandbox.demo.templates.purchaseOrder.id },
          step: { title: first?.title ?? '' },
        },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'complete_task', task: '{{data.next_task.id}}' }],
      },
    });
    await sandbox.completeTask(orgId, first?.id ?? '');
    await sandbox.flushWebhooks();
    await world.queue.drain(world.worker);
    expect(sandbox.store.tasks.get(second?.id ?? '')?.status).toBe('completed');
    await world.registry.deleteRule(orgId, 'auto-approve');

    const task = sandbox.store
      .tasksOfRun(sandbox.demo.runs.onboardingActive)
      .find((t) => t.status !== 'completed');
    await sandbox.completeTask(orgId, task?.id ?? '');
    await sandbox.flushWebhooks();
    await world.queue.drain(world.worker);
    world.queue.sendBody(JSON.stringify(world.bus.published.at(-1)), orgId); // a duplicate
    await world.queue.drain(world.worker);
    expect(codeCalls).toEqual([`${task?.id}:false`]);
    expect(sandbox.store.commentsOf(task?.id ?? '').map((c) => c.content)).toEqual([
      expect.stringMatching(/^code tsf-[0-9a-f]{16}$/),
    ]);
    expect(runsWithMarker(world, 'tsf-')).toEqual([]);
  });
});
