/**
 * Event worker end to end: task-completed webhooks from the sandbox, through the receiver's
 * handler behind a real HTTP server, queued, then drained by the worker's handler (real deps:
 * DynamoDB Local for dedupe/action records, the local Secrets Manager for the token, the
 * sandbox for Tallyfy) where one rule launches a process and comments on the task for every
 * event. Reports events/s with SQS-sized batches of 10, for one worker instance and for four
 * instances draining the same queue. Everything shares this process's event loop, so the
 * figures are a floor for what separate Lambda containers reach. See docs/automations.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createEventWorkerHandler } from '../functions/event-worker/handler.ts';
import { createWebhookReceiverHandler } from '../functions/webhook-receiver/handler.ts';
import { startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { startLocalSecretsManager } from '../local/secrets-manager/index.ts';
import { startSandbox } from '../local/tallyfy-sandbox/index.ts';
import { memoryEventBus, memoryRawArchive } from '../shared/events/index.ts';
import { createLogger } from '../shared/observability/index.ts';
import { actionMarker, createOrgsTable } from '../shared/orgs/index.ts';
import { Secret } from '../shared/secret.ts';
import {
  closeSharedDispatchers,
  createTallyfyClient,
  staticToken,
  TallyfyApi,
} from '../shared/tallyfy/index.ts';
import { cachedWebhookAuthLookup, hashWebhookSecret } from '../shared/webhooks/index.ts';
import { LocalQueue } from '../test/integration/worker/local-queue.ts';
import { startReceiverServer } from '../test/integration/worker/receiver-http.ts';
import { localDynamo, localWorkerDeps } from '../test/integration/worker/worker-deps.ts';
import type { BenchResult } from './types.ts';

const EVENTS = 300;
const WARMUP = 20;

export async function run(): Promise<BenchResult[]> {
  const ddb = await startDynamoDbLocal();
  const sandbox = await startSandbox();
  const sm = await startLocalSecretsManager();
  const results: BenchResult[] = [];
  try {
    const tableName = `bench-worker-${randomUUID().slice(0, 8)}`;
    const { client, document } = localDynamo(ddb.endpoint);
    await createOrgsTable(client, tableName);
    document.destroy();
    const endpoints = {
      dynamoEndpoint: ddb.endpoint,
      tableName,
      secretsManagerEndpoint: sm.endpoint,
      tallyfyBaseUrl: sandbox.url,
    };
    const queue = new LocalQueue();
    const bus = memoryEventBus();
    const { deps, parts } = localWorkerDeps({
      endpoints,
      bus,
      deadLetters: queue.deadLetterSink,
      visibility: queue,
    });
    const { registry, tokenStore } = parts;
    const orgId = sandbox.demo.orgId;
    const pat = sandbox.issuePersonalAccessToken(sandbox.demo.admin.id);
    await tokenStore.writeToken(
      orgId,
      {
        accessToken: new Secret(pat),
        tokenType: 'Bearer',
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        obtainedAt: new Date().toISOString(),
        authMode: 'personal_access_token',
        orgId,
      },
      { clientRequestToken: randomUUID() },
    );
    const urlSecret = new Secret(randomBytes(32).toString('base64url'));
    await registry.createOrg({
      orgId,
      name: sandbox.demo.orgName,
      authMode: 'personal_access_token',
      credentialsSecretId: tokenStore.secretName(orgId, 'credentials'),
      tokenSecretId: tokenStore.secretName(orgId, 'token'),
      webhookSecretHash: hashWebhookSecret(urlSecret),
    });
    await registry.putRule(orgId, {
      ruleId: 'bench',
      body: {
        when: { event: 'task.completed', step: { alias: 'request-details' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'launch_process',
            template: sandbox.demo.templates.onboarding.id,
            name: 'Onboarding for {{process.name}}',
          },
          { type: 'comment_on_task', content: 'Launched {{actions.0.runId}}' },
        ],
      },
    });
    const receiver = await startReceiverServer(
      createWebhookReceiverHandler({
        auth: cachedWebhookAuthLookup(registry, { ttlMs: 60_000, clock: Date.now }),
        queue,
        archive: memoryRawArchive(),
        clock: Date.now,
        logger: createLogger({ serviceName: 'webhook-receiver', level: 'ERROR' }),
      }),
    );
    sandbox.setWebhookUrl(orgId, `${receiver.url}/hooks/${orgId}/${urlSecret.reveal()}`);
    const admin = new TallyfyApi(
      createTallyfyClient({ baseUrl: sandbox.url, auth: staticToken(new Secret(pat)) }),
    );
    const worker = createEventWorkerHandler(deps);

    /** `count` task-completed events on the queue (launch hooks off, so only these). */
    const arrange = async (count: number) => {
      sandbox.setWebhookDelivery(false);
      const firstTasks: string[] = [];
      for (let i = 0; i < count; i++) {
        const run = await admin.launchRun(orgId, {
          checklistId: sandbox.demo.templates.purchaseOrder.id,
          name: `Bench ${randomUUID().slice(0, 8)}`,
        });
        firstTasks.push(sandbox.store.tasksOfRun(run.id)[0]?.id ?? '');
      }
      sandbox.setWebhookDelivery(true);
      for (const taskId of firstTasks) await sandbox.completeTask(orgId, taskId);
      await sandbox.flushWebhooks();
      // the rule's own launches would queue process.launched events: keep the run to these
      sandbox.setWebhookDelivery(false);
      if (queue.messages.length !== count) {
        throw new Error(`expected ${count} queued events, found ${queue.messages.length}`);
      }
      return firstTasks;
    };

    const measure = async (instances: number, name: string, orgConcurrency = 2) => {
      const tasks = await arrange(EVENTS);
      const handler = createEventWorkerHandler({ ...deps, orgConcurrency });
      const start = performance.now();
      await Promise.all(Array.from({ length: instances }, () => queue.drain(handler)));
      const elapsedMs = performance.now() - start;
      const done = tasks.filter((t) => sandbox.store.commentsOf(t).length === 1).length;
      if (done !== EVENTS || queue.deadLetters.length > 0) {
        throw new Error(
          `${name}: ${done}/${EVENTS} events acted on, ${queue.deadLetters.length} dead letters`,
        );
      }
      const events = bus.published.slice(-EVENTS);
      const launched = events.filter(
        (e) =>
          sandbox.store
            .runsOf(orgId)
            .filter((r) =>
              r.summary.includes(
                actionMarker({ dedupeKey: e.id, ruleId: 'bench', actionIndex: 0 }),
              ),
            ).length === 1,
      ).length;
      if (launched !== EVENTS) throw new Error(`${name}: ${launched}/${EVENTS} launches found`);
      results.push({
        name,
        value: Math.round((EVENTS / elapsedMs) * 1000 * 10) / 10,
        unit: 'events/s',
        note: `${EVENTS} task.completed events of one org, batches of 10, ${orgConcurrency} at once per org and instance; per event: dedupe claim, launch + comment (2 Tallyfy POSTs), 3 action records, bus publish; DynamoDB Local, sandbox and Secrets Manager in this process`,
      });
    };

    await arrange(WARMUP);
    await queue.drain(worker);
    await measure(1, 'worker: end-to-end events/s (1 instance, batch 10)');
    await measure(4, 'worker: end-to-end events/s (4 instances, batch 10)');
    await measure(1, 'worker: end-to-end events/s (1 instance, batch 10, org concurrency 10)', 10);
    await receiver.close();
    parts.close();
  } finally {
    await closeSharedDispatchers();
    await sandbox.close();
    await sm.close();
    await ddb.stop();
  }
  return results;
}
