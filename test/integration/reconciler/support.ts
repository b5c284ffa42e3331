/**
 * The reconciler's world on loopback: the Tallyfy sandbox, DynamoDB Local (org registry, seen
 * markers), the local SQS endpoint through the real SDK client, and the webhook receiver's
 * handler behind a node:http server that the sandbox delivers webhooks to.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  createReconcilerHandler,
  type ReconcilerDeps,
} from '../../../functions/reconciler/handler.ts';
import { createWebhookReceiverHandler } from '../../../functions/webhook-receiver/handler.ts';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';
import { type Sandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import {
  createSqsEventQueue,
  type EventEnvelope,
  memoryRawArchive,
  parseEnvelope,
} from '../../../shared/events/index.ts';
import {
  createLogger,
  createMetrics,
  type MemorySink,
  memorySink,
} from '../../../shared/observability/index.ts';
import type { OrgRegistry } from '../../../shared/orgs/index.ts';
import {
  createDynamoSeenEvents,
  markSeenAfterSend,
  type SeenEvents,
} from '../../../shared/reconcile/index.ts';
import { Secret } from '../../../shared/secret.ts';
import {
  createTallyfyClient,
  passwordGrant,
  staticToken,
  TallyfyApi,
  type TallyfyClientOptions,
} from '../../../shared/tallyfy/index.ts';
import { cachedWebhookAuthLookup, hashWebhookSecret } from '../../../shared/webhooks/index.ts';
import { freshRegistry, orgInput, type TestClock, testClock } from '../orgs/support.ts';

export const QUEUE = 'events';

export interface World {
  sandbox: Sandbox;
  registry: OrgRegistry;
  seen: SeenEvents;
  clock: TestClock;
  sqs: LocalSqs;
  sqsClient: SQSClient;
  queueUrl: string;
  api: TallyfyApi;
  /** Another client of the same user, with its own options (retries, waits). */
  apiWith(options?: Partial<TallyfyClientOptions>): TallyfyApi;
  orgId: string;
  /** EMF documents the reconciler flushed. */
  emf: string[];
  logs: MemorySink;
  reconcile: (event?: unknown) => ReturnType<ReturnType<typeof createReconcilerHandler>>;
  /** The handler's dependencies (tests run `reconcile()` with their own overrides). */
  deps: ReconcilerDeps;
  /** Every message now in the events queue (received, then made visible again). */
  queued(): Promise<EventEnvelope[]>;
  close(): Promise<void>;
}

/** Starts the world; the sandbox delivers the demo org's webhooks to the receiver. */
export async function startWorld(prefix: string): Promise<World> {
  // milliseconds on the clock: API times carry them, webhook times do not
  const clock = testClock('2026-11-22T12:00:00.437Z');
  const { registry, clients, tableName } = await freshRegistry(prefix, { clock });
  const seen = createDynamoSeenEvents({ client: clients.document, tableName, clock });
  // tokens outlive the grace periods the tests move the clock through
  const sandbox = await startSandbox({ clock, accessTokenLifetimeSeconds: 30 * 86_400 });
  const sqs = await startLocalSqs({ queues: [{ name: QUEUE }] });
  const sqsClient = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const queueUrl = sqs.queueUrl(QUEUE);
  const sqsQueue = createSqsEventQueue({ client: sqsClient, queueUrl });
  const logs = memorySink();
  const logger = createLogger({ serviceName: 'test', level: 'WARN', sink: logs.sink });

  const orgId = sandbox.demo.orgId;
  const webhookSecret = new Secret(randomBytes(32).toString('base64url'));
  await registry.createOrg(
    orgInput(orgId, { webhookSecretHash: hashWebhookSecret(webhookSecret) }),
  );

  // the receiver as deployed: its queue records a seen marker after each stored event
  const receiver = createWebhookReceiverHandler({
    auth: cachedWebhookAuthLookup(registry, { ttlMs: 0, clock }),
    queue: markSeenAfterSend(sqsQueue, seen, {
      onMarkError: (error) => logger.error('seen marker not written', { error }),
    }),
    archive: memoryRawArchive(),
    clock,
    logger,
  });
  const server = await serveReceiver(receiver);
  const port = (server.address() as AddressInfo).port;
  sandbox.setWebhookUrl(orgId, `http://127.0.0.1:${port}/hooks/${orgId}/${webhookSecret.reveal()}`);

  const token = await passwordGrant(
    {
      clientId: sandbox.demo.passwordClient.clientId,
      clientSecret: new Secret(sandbox.demo.passwordClient.clientSecret),
      username: sandbox.demo.admin.email,
      password: new Secret(sandbox.demo.admin.password),
    },
    { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl, clock },
  );
  const apiWith = (options: Partial<TallyfyClientOptions> = {}) =>
    new TallyfyApi(
      createTallyfyClient({
        auth: staticToken(token.accessToken),
        baseUrl: sandbox.url,
        ...options,
      }),
    );
  const api = apiWith();

  const emf: string[] = [];
  const metrics = createMetrics({
    namespace: 'Test',
    serviceName: 'reconciler',
    sink: (line) => emf.push(line),
  });
  const deps: ReconcilerDeps = {
    registry,
    seen,
    queue: sqsQueue,
    tallyfyFor: () => api,
    clock,
    logger,
    metrics,
    options: { overlapMinutes: 10, settleSeconds: 120, initialLookbackMinutes: 60 * 24 * 30 },
    flushMetrics: () => metrics.publishStoredMetrics(),
  };
  const handler = createReconcilerHandler(deps);

  return {
    sandbox,
    registry,
    seen,
    clock,
    sqs,
    sqsClient,
    queueUrl,
    api,
    apiWith,
    orgId,
    emf,
    logs,
    reconcile: (event = {}) => handler(event),
    deps,
    async queued() {
      const envelopes: EventEnvelope[] = [];
      for (;;) {
        const out = await sqsClient.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 0,
            WaitTimeSeconds: 0,
          }),
        );
        // visibility 0: the next receive would hand out the same messages; stop at a repeat
        const fresh = (out.Messages ?? []).filter(
          (m) => !envelopes.some((e) => (e as { _mid?: string })._mid === m.MessageId),
        );
        if (fresh.length === 0) break;
        for (const m of fresh) {
          envelopes.push(Object.assign(parseEnvelope(m.Body ?? ''), { _mid: m.MessageId }));
        }
      }
      return envelopes.map(({ _mid, ...e }: EventEnvelope & { _mid?: string }) => e);
    },
    async close() {
      sqsClient.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await sqs.close();
      await sandbox.close();
      clients.client.destroy();
    },
  };
}

/** A node:http server mapping `POST /hooks/{orgId}/{secret}` to the receiver's handler. */
async function serveReceiver(
  handler: ReturnType<typeof createWebhookReceiverHandler>,
): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const [, , orgId = '', secret = ''] = (req.url ?? '').split('?')[0]?.split('/') ?? [];
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers[name] = value;
    }
    const event = {
      version: '2.0',
      routeKey: 'POST /hooks/{orgId}/{secret}',
      rawPath: '/hooks/{orgId}/{secret}',
      rawQueryString: '',
      headers,
      pathParameters: { orgId, secret },
      body: Buffer.concat(chunks).toString('utf8'),
      isBase64Encoded: false,
      requestContext: { http: { method: req.method ?? 'POST' }, requestId: 'test' },
    } as unknown as APIGatewayProxyEventV2;
    const result = await handler(event);
    res.writeHead(result.statusCode ?? 500, result.headers as Record<string, string>);
    res.end(result.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * Launches a purchase-order run through the API and completes its three tasks, moving the
 * clock a few seconds (and odd milliseconds) between steps: 5 events (launch, 3 task
 * completions, process completion).
 */
export async function runPurchaseOrder(world: World, name: string): Promise<string> {
  const { api, orgId, clock, sandbox } = world;
  const run = await api.launchRun(orgId, {
    checklistId: sandbox.demo.templates.purchaseOrder.id,
    name,
    prerun: { vendor: 'Northwind Traders', 'requested-amount': '12500' },
  });
  for await (const task of api.listRunTasks(orgId, run.id, { sort: 'position' })) {
    clock.advance(3_211);
    await api.completeTask(orgId, run.id, task.id);
  }
  await sandbox.flushWebhooks();
  return run.id;
}

/** The value of a metric in the flushed EMF documents (summed). */
export function metricValue(emf: readonly string[], name: string): number {
  let total = 0;
  for (const line of emf) {
    const value = (JSON.parse(line) as Record<string, unknown>)[name];
    if (typeof value === 'number') total += value;
    if (Array.isArray(value)) total += value.reduce((a: number, b: number) => a + b, 0);
  }
  return total;
}
