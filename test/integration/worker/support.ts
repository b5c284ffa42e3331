/**
 * The worker's world for integration tests: DynamoDB Local (own table), the local Secrets
 * Manager (real SDK client), the Tallyfy sandbox, the webhook receiver's handler behind a real
 * HTTP server, a test-local SQS-like queue with dead letters, and an in-memory bus.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { inject } from 'vitest';
import { createEventWorkerHandler } from '../../../functions/event-worker/handler.ts';
import { createWebhookReceiverHandler } from '../../../functions/webhook-receiver/handler.ts';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../../local/secrets-manager/index.ts';
import { type Sandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import type { ActionOutcome, CodeAutomation } from '../../../shared/automations/index.ts';
import { memoryCustomEventPublisher } from '../../../shared/automations/index.ts';
import {
  type MemoryEventBus,
  memoryEventBus,
  memoryRawArchive,
} from '../../../shared/events/index.ts';
import { createLogger, memorySink } from '../../../shared/observability/index.ts';
import { createOrgsTable, type OrgRegistry, type RuleInput } from '../../../shared/orgs/index.ts';
import { Secret } from '../../../shared/secret.ts';
import {
  closeSharedDispatchers,
  createTallyfyClient,
  staticToken,
  TallyfyApi,
} from '../../../shared/tallyfy/index.ts';
import { cachedWebhookAuthLookup, hashWebhookSecret } from '../../../shared/webhooks/index.ts';
import { LocalQueue } from './local-queue.ts';
import { type ReceiverServer, startReceiverServer } from './receiver-http.ts';
import {
  type LocalEndpoints,
  localDynamo,
  localWorkerDeps,
  type WorkerParts,
} from './worker-deps.ts';

export interface World {
  sandbox: Sandbox;
  sm: LocalSecretsManager;
  endpoints: LocalEndpoints;
  orgId: string;
  registry: OrgRegistry;
  queue: LocalQueue;
  bus: MemoryEventBus;
  publisher: ReturnType<typeof memoryCustomEventPublisher>;
  receiver: ReceiverServer;
  /** The Tallyfy API as the org admin (to arrange data). */
  admin: TallyfyApi;
  /** Moves the registry's clock (action leases) forward. */
  advance(ms: number): void;
  /** The worker's handler over real deps. */
  worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Every action outcome the worker reported (onAction). */
  actions: ActionOutcome[];
  parts: WorkerParts;
  putRule(rule: RuleInput): Promise<void>;
  close(): Promise<void>;
}

/** Starts every engine, registers the demo org with a PAT token and points its webhooks at us. */
export async function startWorld(
  options: {
    code?: readonly CodeAutomation[];
    /** In-process retries of refused actions (the worker's default is 2). */
    refusalRetries?: number;
  } = {},
): Promise<World> {
  const dynamoEndpoint = inject('dynamoEndpoint');
  const tableName = `orgs-worker-${randomUUID().slice(0, 8)}`;
  const { client, document } = localDynamo(dynamoEndpoint);
  await createOrgsTable(client, tableName);
  document.destroy();

  const sandbox = await startSandbox();
  const sm = await startLocalSecretsManager();
  const endpoints: LocalEndpoints = {
    dynamoEndpoint,
    tableName,
    secretsManagerEndpoint: sm.endpoint,
    tallyfyBaseUrl: sandbox.url,
  };
  let offset = 0;
  const clock = () => Date.now() + offset;
  const queue = new LocalQueue({
    onDelay: (ms) => {
      offset += ms;
    },
  });
  const bus = memoryEventBus();
  const publisher = memoryCustomEventPublisher();
  const { deps, parts } = localWorkerDeps({
    endpoints,
    bus,
    deadLetters: queue.deadLetterSink,
    visibility: queue,
    deferral: queue,
    clock,
    publisher,
    ...(options.code ? { code: options.code } : {}),
  });
  const { registry, tokenStore } = parts;

  // the org: a personal access token of the admin as its token secret
  const orgId = sandbox.demo.orgId;
  const pat = sandbox.issuePersonalAccessToken(sandbox.demo.admin.id);
  await tokenStore.writeToken(
    orgId,
    {
      accessToken: new Secret(pat),
      tokenType: 'Bearer',
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
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

  const receiverHandler = createWebhookReceiverHandler({
    auth: cachedWebhookAuthLookup(registry, { ttlMs: 0, clock: Date.now }),
    queue,
    archive: memoryRawArchive(),
    clock: Date.now,
    logger: createLogger({
      serviceName: 'webhook-receiver',
      level: 'WARN',
      sink: memorySink().sink,
    }),
  });
  const receiver = await startReceiverServer(receiverHandler);
  sandbox.setWebhookUrl(orgId, `${receiver.url}/hooks/${orgId}/${urlSecret.reveal()}`);

  const actions: ActionOutcome[] = [];
  const worker = createEventWorkerHandler({
    ...deps,
    ...(options.refusalRetries === undefined ? {} : { refusalRetries: options.refusalRetries }),
    onAction: (outcome) => actions.push(outcome),
  });

  const admin = new TallyfyApi(
    createTallyfyClient({ baseUrl: sandbox.url, auth: staticToken(new Secret(pat)) }),
  );

  return {
    sandbox,
    sm,
    endpoints,
    orgId,
    registry,
    queue,
    bus,
    publisher,
    receiver,
    admin,
    advance: (ms) => {
      offset += ms;
    },
    worker,
    actions,
    parts,
    async putRule(rule) {
      await parts.registry.putRule(orgId, rule);
    },
    async close() {
      await receiver.close();
      await sandbox.close();
      await sm.close();
      parts.close();
      await closeSharedDispatchers();
    },
  };
}

/** Runs of the org whose summary carries `marker`. */
export function runsWithMarker(world: World, marker: string) {
  return world.sandbox.store.runsOf(world.orgId).filter((run) => run.summary.includes(marker));
}

/** The trailing marker line an automation's comment carries (`[automation tsf-…]`). */
const COMMENT_MARKER = /\n\n\[automation (tsf-[0-9a-f]{16})\]$/;

/** A task's comments as `{text, marker}`: the text without its marker line, and the marker. */
export function commentsOf(world: World, taskId: string) {
  return world.sandbox.store.commentsOf(taskId).map((comment) => {
    const match = COMMENT_MARKER.exec(comment.content);
    return {
      text: match ? comment.content.slice(0, match.index) : comment.content,
      marker: match?.[1],
    };
  });
}
