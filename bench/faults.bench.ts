/**
 * Faults (issue 11): 300 approved purchase orders go through the receiver (a real HTTP server)
 * into the local SQS engine (visibility, receive counts, redrive to the dead-letter queue after
 * 5 receives, delays) and through the event worker, whose demo rule launches a follow-up process
 * and comments on the task, while 30 % of Tallyfy's answers are faults: 500 (half of them after
 * the request took effect: the comment or the run exists), 503, and 429 with `Retry-After` (1 s,
 * and 90 s on a fifth of them: beyond the client's cap, deferred). Every engine runs on one
 * virtual clock that jumps forward when the queue has nothing visible, so leases (120 s),
 * backoffs and delays are real to the code and cost no wall time.
 *
 * Effects are counted in the sandbox's own state, by each action's marker: a comment or run
 * found twice is a duplicate; an event whose effects are missing is lost, or, if the worker
 * marked it processed, a silent skip. Dead letters are listed from the DLQ with their codes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { GetQueueAttributesCommand, type QueueAttributeName, SQSClient } from '@aws-sdk/client-sqs';
import { createEventWorkerHandler } from '../functions/event-worker/handler.ts';
import { createWebhookReceiverHandler } from '../functions/webhook-receiver/handler.ts';
import { startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { demoRule } from '../local/runtime/demo.ts';
import { startLocalSecretsManager } from '../local/secrets-manager/index.ts';
import { startLocalSqs, startSqsEventSource } from '../local/sqs/index.ts';
import { startSandbox } from '../local/tallyfy-sandbox/index.ts';
import {
  type ActionOutcome,
  createSqsDeadLetterSink,
  createSqsMessageDeferral,
  createSqsMessageVisibility,
} from '../shared/automations/index.ts';
import { listDeadLetters, MAX_RECEIVE_COUNT } from '../shared/dlq/index.ts';
import { createSqsEventQueue, memoryEventBus, memoryRawArchive } from '../shared/events/index.ts';
import { createLogger } from '../shared/observability/index.ts';
import { actionMarker, createOrgsTable } from '../shared/orgs/index.ts';
import { eventKeys } from '../shared/reconcile/index.ts';
import { Secret } from '../shared/secret.ts';
import {
  closeSharedDispatchers,
  createTallyfyClient,
  staticToken,
  TallyfyApi,
  tallyfyApiPerOrg,
} from '../shared/tallyfy/index.ts';
import { createTokenProvider } from '../shared/tokens/index.ts';
import { cachedWebhookAuthLookup, hashWebhookSecret } from '../shared/webhooks/index.ts';
import { startReceiverServer } from '../test/integration/worker/receiver-http.ts';
import { localDynamo, localWorkerDeps } from '../test/integration/worker/worker-deps.ts';
import type { BenchResult } from './types.ts';

const EVENTS = 300;
const RULE_ID = 'demo-po-approved';
/** How far the virtual clock jumps when nothing is visible in the queue. */
const IDLE_STEP_MS = 15_000;

export async function run(): Promise<BenchResult[]> {
  const wallStart = performance.now();
  let offset = 0;
  const clock = () => Date.now() + offset;
  const ddb = await startDynamoDbLocal();
  const sandbox = await startSandbox({ clock });
  const sm = await startLocalSecretsManager();
  const sqs = await startLocalSqs({
    clock,
    queues: [
      { name: 'events-dlq' },
      {
        name: 'events',
        attributes: {
          // longer than any virtual jump during a batch: only the worker's own changes count
          VisibilityTimeout: '43200',
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:events-dlq',
            maxReceiveCount: MAX_RECEIVE_COUNT,
          }),
        },
      },
    ],
  });
  const sqsClient = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const queueUrl = sqs.queueUrl('events');
  const deadLetterQueueUrl = sqs.queueUrl('events-dlq');
  try {
    const tableName = `bench-faults-${randomUUID().slice(0, 8)}`;
    const { client, document } = localDynamo(ddb.endpoint);
    await createOrgsTable(client, tableName);
    const endpoints = {
      dynamoEndpoint: ddb.endpoint,
      tableName,
      secretsManagerEndpoint: sm.endpoint,
      tallyfyBaseUrl: sandbox.url,
    };
    const bus = memoryEventBus();
    const { deps, parts } = localWorkerDeps({
      endpoints,
      bus,
      clock,
      deadLetters: createSqsDeadLetterSink({ client: sqsClient, queueUrl: deadLetterQueueUrl }),
      visibility: createSqsMessageVisibility({ client: sqsClient }),
      deferral: createSqsMessageDeferral({ client: sqsClient }),
    });
    const { registry, tokenStore } = parts;
    const orgId = sandbox.demo.orgId;
    const pat = sandbox.issuePersonalAccessToken(sandbox.demo.admin.id);
    await tokenStore.writeToken(
      orgId,
      {
        accessToken: new Secret(pat),
        tokenType: 'Bearer',
        expiresAt: new Date(clock() + 30 * 86_400_000).toISOString(),
        obtainedAt: new Date(clock()).toISOString(),
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
    await registry.putRule(orgId, demoRule(sandbox.demo));

    const receiver = await startReceiverServer(
      createWebhookReceiverHandler({
        auth: cachedWebhookAuthLookup(registry, { ttlMs: 60_000, clock }),
        queue: createSqsEventQueue({ client: sqsClient, queueUrl }),
        archive: memoryRawArchive(),
        clock,
        logger: createLogger({ serviceName: 'webhook-receiver', level: 'ERROR' }),
      }),
    );
    sandbox.setWebhookUrl(orgId, `${receiver.url}/hooks/${orgId}/${urlSecret.reveal()}`);
    const admin = new TallyfyApi(
      createTallyfyClient({ baseUrl: sandbox.url, auth: staticToken(new Secret(pat)) }),
    );

    // Arrange: 300 approvals, each a task.completed webhook stored by the receiver
    sandbox.setWebhookDelivery(false);
    const approvals: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const run = await admin.launchRun(orgId, {
        checklistId: sandbox.demo.templates.purchaseOrder.id,
        name: `PO faults ${i}`,
      });
      const [request, approve] = sandbox.store.tasksOfRun(run.id);
      await sandbox.completeTask(orgId, request?.id ?? '');
      approvals.push(approve?.id ?? '');
    }
    sandbox.setWebhookDelivery(true);
    for (const taskId of approvals) await sandbox.completeTask(orgId, taskId);
    await sandbox.flushWebhooks();
    sandbox.setWebhookDelivery(false); // the follow-up runs' own webhooks stay out of the count
    const queued = await queueCounts(sqsClient, queueUrl);
    if (queued.visible !== EVENTS) {
      throw new Error(`expected ${EVENTS} queued events, found ${queued.visible}`);
    }

    // Act: the worker under 30 % faults, on the virtual clock (production retry policy)
    const tokens = createTokenProvider({
      store: tokenStore,
      clock,
      requestRefresh: async () => {
        throw new Error('no refresh expected');
      },
    });
    const outcomes: ActionOutcome[] = [];
    let deferrals = 0;
    const worker = createEventWorkerHandler({
      ...deps,
      tallyfy: tallyfyApiPerOrg({
        auth: (id) => tokens.forOrg(id),
        client: {
          baseUrl: sandbox.url,
          clock,
          // the client's waits (backoff, Retry-After up to its 30 s cap) pass on the clock
          sleep: async (ms) => {
            offset += ms;
          },
        },
      }),
      sleep: async (ms) => {
        offset += ms;
      },
      retryDelayMs: (retry) => 100 * 2 ** (retry - 1),
      onAction: (outcome) => outcomes.push(outcome),
      metrics: {
        record: (name) => {
          if (name === 'EventsDeferred') deferrals++;
        },
      },
    });
    const faultsBefore = sandbox.stats().faultsInjected;
    // checked in order, the first that fires wins: 5 % 500, 10 % 503, 2 % 429 (90 s), 8 % 429
    // (1 s) before the request is carried out, and 5 % 500 after it (of the 70 % that pass)
    sandbox.injectFault({ status: 500, probability: 0.05, seed: 101 });
    sandbox.injectFault({ status: 503, probability: 0.1 / 0.95, seed: 103 });
    sandbox.injectFault({
      status: 429,
      retryAfterSeconds: 90,
      probability: 0.02 / 0.85,
      seed: 104,
    });
    sandbox.injectFault({ status: 429, retryAfterSeconds: 1, probability: 0.08 / 0.83, seed: 105 });
    sandbox.injectFault({ status: 500, timing: 'after', probability: 0.05 / 0.75, seed: 102 });
    const requestsBefore = totalRequests(sandbox.stats().requests);
    const source = startSqsEventSource({
      client: sqsClient,
      queueUrl,
      handler: worker,
      waitTimeSeconds: 0,
      idleDelayMs: 5,
      eventSourceArn: sqs.queueArn('events'),
    });
    const virtualStart = clock();
    for (let rounds = 0; ; rounds++) {
      await source.drain();
      const counts = await queueCounts(sqsClient, queueUrl);
      if (counts.visible + counts.notVisible + counts.delayed === 0) break;
      if (rounds > 20_000) throw new Error('the queue never emptied');
      if (counts.visible === 0) offset += IDLE_STEP_MS;
    }
    await source.stop();
    const virtualMs = clock() - virtualStart;
    const faults = sandbox.stats().faultsInjected - faultsBefore;
    const requests = totalRequests(sandbox.stats().requests) - requestsBefore + faults;
    sandbox.clearFaults();

    // Assess, from the sandbox's own state
    const letters = await listDeadLetters({
      client: sqsClient,
      deadLetterQueueUrl,
      waitTimeSeconds: 0,
    });
    const lettered = new Set(letters.map((l) => l.eventId ?? ''));
    let duplicates = 0;
    let lost = 0;
    let silentSkips = 0;
    let complete = 0;
    for (const taskId of approvals) {
      // the event's id as the receiver keyed the webhook (its completion time, in seconds)
      const completedAt = sandbox.store.tasks.get(taskId)?.completedAt ?? '';
      const eventId = eventKeys('task.completed', taskId, completedAt).primary;
      const launch = actionMarker({ dedupeKey: eventId, ruleId: RULE_ID, actionIndex: 0 });
      const comment = actionMarker({ dedupeKey: eventId, ruleId: RULE_ID, actionIndex: 1 });
      const runs = sandbox.store.runsOf(orgId).filter((r) => r.name.includes(launch)).length;
      const comments = sandbox.store
        .commentsOf(taskId)
        .filter((c) => c.content.includes(comment)).length;
      duplicates += Math.max(0, runs - 1) + Math.max(0, comments - 1);
      if (runs >= 1 && comments >= 1) {
        complete++;
        continue;
      }
      if ((await registry.getEvent(eventId))?.status === 'done') silentSkips++;
      else if (!lettered.has(eventId)) lost++;
    }
    const byCode = new Map<string, number>();
    for (const letter of letters) byCode.set(letter.code, (byCode.get(letter.code) ?? 0) + 1);
    const withoutReason = letters.filter((l) => l.code === '' || l.reason === '').length;
    const inDoubt = outcomes.filter((o) => o.inDoubt === true && o.outcome !== 'failed');
    const recovered = inDoubt.filter((o) => o.outcome === 'recovered').length;
    const redone = inDoubt.length - recovered;
    const context = `${EVENTS} approvals, demo rule (launch + comment), ${faults} of ${requests} Tallyfy answers faulted (${Math.round((faults / requests) * 100)} %: 500 before/after the effect, 503, 429 Retry-After 1 s / 90 s); ${(virtualMs / 1000) | 0} s of virtual time in ${Math.round((performance.now() - wallStart) / 1000)} s`;

    await receiver.close();
    parts.close();
    document.destroy();
    return [
      {
        name: 'faults: silent skips',
        value: silentSkips,
        unit: 'events',
        target: 0,
        better: 'lower',
        note: `events marked processed whose launch or comment is missing in the sandbox; ${context}`,
      },
      {
        name: 'faults: lost',
        value: lost,
        unit: 'events',
        target: 0,
        better: 'lower',
        note: 'events with an effect missing, neither processed nor dead-lettered',
      },
      {
        name: 'faults: duplicates',
        value: duplicates,
        unit: 'effects',
        target: 0,
        better: 'lower',
        note: 'runs or comments found more than once by their action marker',
      },
      {
        name: 'faults: dead-lettered',
        value: letters.length,
        unit: 'events',
        note: `each with a code and a reason (${withoutReason} without): ${[...byCode].map(([code, n]) => `${code} ${n}`).join(', ') || 'none'}`,
      },
      {
        name: 'faults: completed',
        value: complete,
        unit: 'events',
        note: `both effects exactly once in the sandbox; in-doubt attempts settled by looking: ${recovered} found (not repeated), ${redone} not found (done once); ${deferrals} deferrals for a Retry-After of 90 s`,
      },
    ];
  } finally {
    sqsClient.destroy();
    await closeSharedDispatchers();
    await sandbox.close();
    await sm.close();
    await sqs.close();
    await ddb.stop();
  }
}

async function queueCounts(client: SQSClient, queueUrl: string) {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const count = (name: QueueAttributeName) => Number(out.Attributes?.[name] ?? 0);
  return {
    visible: count('ApproximateNumberOfMessages'),
    notVisible: count('ApproximateNumberOfMessagesNotVisible'),
    delayed: count('ApproximateNumberOfMessagesDelayed'),
  };
}

function totalRequests(requests: Record<string, number>): number {
  return Object.values(requests).reduce((sum, n) => sum + n, 0);
}
