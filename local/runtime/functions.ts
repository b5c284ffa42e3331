/**
 * The Lambda functions of the stack, built in-process from the same `create<Name>Handler`
 * factories their `index.ts` uses, with the production adapters (DynamoDB registry, Secrets
 * Manager token store, SQS queue, EventBridge bus) pointed at the local engines. What differs:
 * the archive and the reports are files under DATA_DIR (no local S3), and a refresh request
 * runs the refresher in-process instead of a Lambda invoke (`REFRESH_REQUESTS=local`).
 * Each builder mirrors its function's `index.ts`; keep them in step.
 */
import { join } from 'node:path';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { createEventWorkerHandler } from '../../functions/event-worker/handler.ts';
import { createReconcilerHandler } from '../../functions/reconciler/handler.ts';
import { createReporterHandler } from '../../functions/reporter/handler.ts';
import { createTokenRefresherHandler } from '../../functions/token-refresher/handler.ts';
import { createWebhookReceiverHandler } from '../../functions/webhook-receiver/handler.ts';
import {
  createEventBridgePublisher,
  createSigningSecrets,
  createSqsDeadLetterSink,
  createSqsMessageVisibility,
  tallyfyForOrgs,
} from '../../shared/automations/index.ts';
import type { Config, SectionName } from '../../shared/config.ts';
import {
  createEventBridgeBus,
  createFileArchive,
  createSqsEventQueue,
} from '../../shared/events/index.ts';
import {
  createLogger,
  createMetrics,
  type Logger,
  type LogLevelName,
  type LogSink,
  type MetricsSink,
} from '../../shared/observability/index.ts';
import type { OrgRegistry } from '../../shared/orgs/index.ts';
import {
  createDynamoSeenEvents,
  markSeenAfterSend,
  tallyfyApiPerOrg,
} from '../../shared/reconcile/index.ts';
import {
  dynamoEventFigures,
  fileReportSink,
  powertoolsReportMetrics,
  registryOrgLister,
  tallyfyClientLists,
  tallyfyReportSource,
} from '../../shared/reports/index.ts';
import { tallyfyClientOptions as tallyfyClientOptionsOf } from '../../shared/tallyfy/from-config.ts';
import { parseTallyfyDateMs, tallyfyOAuth } from '../../shared/tallyfy/index.ts';
import { tokenCacheOptions } from '../../shared/tokens/from-config.ts';
import {
  createRefreshRequester,
  createTallyfyGrants,
  createTokenProvider,
  DEFAULT_REFRESH_POLICY,
  type TokenStore,
} from '../../shared/tokens/index.ts';
import { cachedWebhookAuthLookup } from '../../shared/webhooks/index.ts';

/** Names of the functions, as the stack names their folders. */
export const FUNCTION_NAMES = {
  receiver: 'webhook-receiver',
  worker: 'event-worker',
  refresher: 'token-refresher',
  reconciler: 'reconciler',
  reporter: 'reporter',
} as const;

export interface FunctionContext {
  config: Config<SectionName>;
  registry: OrgRegistry;
  /** The document client the registry runs on (the reconciler's seen-events reads it too). */
  document: DynamoDBDocumentClient;
  tokens: TokenStore;
  secretsClient: SecretsManagerClient;
  sqsClient: SQSClient;
  eventBridgeClient: EventBridgeClient;
  eventsQueueUrl: string;
  deadLetterQueueUrl: string;
  dataDir: string;
  clock: () => number;
  /** Builds each function's logger (`service` = the function name), same sink and format. */
  log: { level: LogLevelName; pretty: boolean; sink?: LogSink | undefined };
  /** Where each function's EMF metrics go (a file locally). */
  metricsSink: MetricsSink;
}

export type ReceiverHandler = (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;
export type WorkerHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;
export type InvocableHandler = (event: unknown) => Promise<unknown>;

export interface LocalFunctions {
  receiver: ReceiverHandler;
  worker: WorkerHandler;
  /** What `POST /_local/invoke/<name>` and the schedules run. */
  invocable: ReadonlyMap<string, InvocableHandler>;
  /** Functions of the stack this build has no handler for (named in the start banner). */
  missing: readonly string[];
}

/** Logger and metrics of one function, as its `index.ts` makes them. */
export function functionTelemetry(ctx: FunctionContext, serviceName: string) {
  const logger: Logger = createLogger({
    serviceName,
    level: ctx.log.level,
    pretty: ctx.log.pretty,
    ...(ctx.log.sink ? { sink: ctx.log.sink } : {}),
  });
  const metrics = createMetrics({
    namespace: 'TallyfyServerless',
    serviceName,
    logger,
    sink: ctx.metricsSink,
  });
  return { logger, metrics };
}

/** Builds every function this checkout has a handler factory for. */
export function buildFunctions(ctx: FunctionContext): LocalFunctions {
  const invocable = new Map<string, InvocableHandler>();
  const refresher = buildRefresher(ctx);
  invocable.set(FUNCTION_NAMES.refresher, refresher);
  invocable.set(FUNCTION_NAMES.reconciler, buildReconciler(ctx, refresher));
  invocable.set(FUNCTION_NAMES.reporter, buildReporter(ctx, refresher));
  const missing: string[] = [];
  return {
    receiver: buildReceiver(ctx),
    worker: buildWorker(ctx, refresher),
    invocable,
    missing,
  };
}

function buildReceiver(ctx: FunctionContext): ReceiverHandler {
  const { logger, metrics } = functionTelemetry(ctx, FUNCTION_NAMES.receiver);
  return createWebhookReceiverHandler({
    auth: cachedWebhookAuthLookup(ctx.registry, {
      ttlMs: ctx.config.orgs.cacheTtlSeconds * 1000,
      clock: ctx.clock,
    }),
    // as in Lambda: the seen marker (for the reconciler) is written once SQS stored the event
    queue: markSeenAfterSend(
      createSqsEventQueue({ client: ctx.sqsClient, queueUrl: ctx.eventsQueueUrl }),
      createDynamoSeenEvents({
        client: ctx.document,
        tableName: ctx.config.orgs.tableName,
        clock: ctx.clock,
        ttlSeconds: ctx.config.dedupe.ttlDays * 86_400,
      }),
      {
        onMarkError: (error, eventIds) =>
          logger.error('seen marker not written', { error, eventIds }),
      },
    ),
    archive: createFileArchive({ baseDir: join(ctx.dataDir, 'archive') }),
    clock: ctx.clock,
    logger,
    metrics,
    limits: { maxBodyBytes: ctx.config.webhook.maxBodyBytes },
    flushMetrics: () => metrics.publishStoredMetrics(),
  });
}

/** As functions/token-refresher/index.ts, with the local registry and token store. */
function buildRefresher(ctx: FunctionContext): InvocableHandler {
  const { logger, metrics } = functionTelemetry(ctx, FUNCTION_NAMES.refresher);
  const { tallyfy, refresher } = ctx.config;
  const oauth = tallyfyOAuth({
    baseUrl: tallyfy.baseUrl,
    headersTimeoutMs: tallyfy.headersTimeoutMs,
    bodyTimeoutMs: tallyfy.bodyTimeoutMs,
    retryAfterCapMs: tallyfy.retryAfterCapSeconds * 1000,
  });
  const handler = createTokenRefresherHandler({
    registry: ctx.registry,
    secrets: ctx.tokens,
    grants: createTallyfyGrants(oauth),
    policy: {
      ...DEFAULT_REFRESH_POLICY,
      marginMinSeconds: refresher.marginMinSeconds,
      marginFraction: refresher.marginFraction,
      keepAliveSeconds: refresher.keepAliveSeconds,
      jitterSeconds: refresher.jitterSeconds,
      retryBaseSeconds: refresher.retryBaseSeconds,
      retryMaxSeconds: refresher.retryMaxSeconds,
    },
    clock: ctx.clock,
    random: Math.random,
    logger,
    metrics,
    flushMetrics: () => metrics.publishStoredMetrics(),
    leaseDurationMs: refresher.leaseSeconds * 1000,
    concurrency: refresher.concurrency,
  });
  return (event) => handler(event);
}

/**
 * As functions/event-worker/index.ts, with one local difference: a refresh request runs the
 * refresher in-process (`REFRESH_REQUESTS=local`) instead of a Lambda invoke.
 */
function buildWorker(ctx: FunctionContext, refresher: InvocableHandler): WorkerHandler {
  const { logger, metrics } = functionTelemetry(ctx, FUNCTION_NAMES.worker);
  const { config, clock } = ctx;
  const tokens = tokenProvider(ctx, logger, refresher, () => metrics.record('RefreshRequestsSent'));
  return createEventWorkerHandler({
    registry: ctx.registry,
    ledger: ctx.registry,
    archive: createFileArchive({ baseDir: join(ctx.dataDir, 'archive') }),
    bus: createEventBridgeBus({
      client: ctx.eventBridgeClient,
      eventBusName: config.bus.eventBusName,
    }),
    tallyfy: tallyfyForOrgs({
      auth: (orgId) => tokens.forOrg(orgId),
      client: tallyfyClientOptions(ctx),
    }),
    secrets: createSigningSecrets({
      client: ctx.secretsClient,
      prefix: config.secrets.prefix,
      clock,
    }),
    publisher: createEventBridgePublisher({
      client: ctx.eventBridgeClient,
      eventBusName: config.bus.eventBusName,
    }),
    deadLetters: createSqsDeadLetterSink({
      client: ctx.sqsClient,
      queueUrl: ctx.deadLetterQueueUrl,
    }),
    visibility: createSqsMessageVisibility({ client: ctx.sqsClient }),
    clock,
    logger,
    metrics,
    orgConcurrency: config.worker.orgConcurrency,
    concurrency: config.worker.concurrency,
    retry: {
      baseSeconds: config.worker.retryBaseSeconds,
      maxSeconds: config.worker.retryMaxSeconds,
    },
    actionLeaseMs: config.worker.actionLeaseSeconds * 1000,
    ttlSeconds: config.dedupe.ttlDays * 86_400,
    flushMetrics: () => metrics.publishStoredMetrics(),
  });
}

/** As functions/reconciler/index.ts; refresh requests run the refresher in-process. */
function buildReconciler(ctx: FunctionContext, refresher: InvocableHandler): InvocableHandler {
  const { logger, metrics } = functionTelemetry(ctx, FUNCTION_NAMES.reconciler);
  const { config, clock } = ctx;
  const handler = createReconcilerHandler({
    registry: ctx.registry,
    seen: createDynamoSeenEvents({
      client: ctx.document,
      tableName: config.orgs.tableName,
      clock,
      ttlSeconds: config.dedupe.ttlDays * 86_400,
    }),
    queue: createSqsEventQueue({ client: ctx.sqsClient, queueUrl: ctx.eventsQueueUrl }),
    tallyfyFor: tallyfyApiPerOrg({
      tokens: tokenProvider(ctx, logger, refresher),
      client: tallyfyClientOptions(ctx),
    }),
    clock,
    logger,
    metrics,
    options: { overlapMinutes: config.reconciler.overlapMinutes },
    flushMetrics: () => metrics.publishStoredMetrics(),
  });
  return (event) => handler(event);
}

/**
 * As functions/reporter/index.ts, writing under DATA_DIR (`reports/<orgId>/<day>/…`) instead of
 * S3; refresh requests run the refresher in-process.
 */
function buildReporter(ctx: FunctionContext, refresher: InvocableHandler): InvocableHandler {
  const { logger, metrics } = functionTelemetry(ctx, FUNCTION_NAMES.reporter);
  const { config, clock } = ctx;
  const apiFor = tallyfyApiPerOrg({
    tokens: tokenProvider(ctx, logger, refresher),
    client: tallyfyClientOptions(ctx),
  });
  const handler = createReporterHandler({
    source: tallyfyReportSource((orgId) => tallyfyClientLists(apiFor(orgId).client), {
      pageSize: config.reports.pageSize,
      parseDate: parseTallyfyDateMs,
    }),
    sink: fileReportSink(ctx.dataDir),
    orgs: registryOrgLister(ctx.registry),
    events: dynamoEventFigures({
      client: ctx.document,
      tableName: config.orgs.tableName,
      clock,
      retentionDays: config.dedupe.ttlDays,
      log: logger,
    }),
    metrics: powertoolsReportMetrics(metrics),
    log: logger,
    clock,
    concurrency: config.reports.concurrency,
    periodDays: config.reports.windowDays,
  });
  return (event) => handler(event);
}

/**
 * A function's own token cache (one per Lambda container in AWS), whose refresh requests run
 * the refresher in this process and resolve once it is done (`REFRESH_REQUESTS=local`).
 */
function tokenProvider(
  ctx: FunctionContext,
  logger: Logger,
  refresher: InvocableHandler,
  onRequest?: () => void,
) {
  const { config, clock } = ctx;
  return createTokenProvider({
    store: ctx.tokens,
    clock,
    ...tokenCacheOptions(config.tokens, logger),
    requestRefresh: createRefreshRequester(config.refreshRequests.target, {
      local: (request) => {
        onRequest?.();
        return refresher(request);
      },
    }),
  });
}

/** The Tallyfy client settings every function reads from the `tallyfy` section. */
function tallyfyClientOptions(ctx: FunctionContext) {
  return tallyfyClientOptionsOf(ctx.config.tallyfy);
}
