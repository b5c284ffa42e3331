/**
 * The event worker's composition: its dependencies from config and clients, built here only.
 * `index.ts` calls it with the AWS clients at module scope; local mode calls it with clients of
 * its local engines, a file archive and an in-process refresher.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createEventBridgePublisher,
  createSigningSecrets,
  createSqsDeadLetterSink,
  createSqsMessageDeferral,
  createSqsMessageVisibility,
} from '../../shared/automations/index.ts';
import { requireClient } from '../../shared/config/aws-clients.ts';
import type { Config } from '../../shared/config.ts';
import {
  createEventBridgeBus,
  createS3Archive,
  type RawArchive,
} from '../../shared/events/index.ts';
import {
  createFunctionTelemetry,
  SERVICE_NAMES,
  type TelemetryOutput,
} from '../../shared/observability/index.ts';
import { orgRegistryFromConfig } from '../../shared/orgs/index.ts';
import { tallyfyPerOrgFromConfig } from '../../shared/tokens/from-config.ts';
import type { RefreshRequest } from '../../shared/tokens/index.ts';
import type { EventWorkerDeps } from './handler.ts';

/** The config sections the event worker reads (plus `log` and `aws`). */
export const EVENT_WORKER_SECTIONS = [
  'tallyfy',
  'orgs',
  'secrets',
  'tokens',
  'refreshRequests',
  'bus',
  'archive',
  'dedupe',
  'worker',
] as const;
export type EventWorkerConfig = Config<(typeof EVENT_WORKER_SECTIONS)[number]>;

export interface EventWorkerClients {
  dynamo: DynamoDBDocumentClient;
  secretsManager: SecretsManagerClient;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  /** The raw archive's bucket (ARCHIVE_BUCKET), unless `archive` is given. */
  s3?: S3Client | undefined;
  /** Refresh requests to the refresher function (REFRESH_REQUESTS=<function>). */
  lambda?: LambdaClient | undefined;
}

/** What local mode puts where AWS has a service of its own. */
export interface EventWorkerLocalParts {
  /** @default the S3 archive in ARCHIVE_BUCKET */
  archive?: RawArchive | undefined;
  /** Runs a refresh request in this process (REFRESH_REQUESTS=local). */
  refreshInProcess?: ((request: RefreshRequest) => Promise<unknown>) | undefined;
  telemetry?: TelemetryOutput | undefined;
}

/**
 * @example
 * const deps = wireEventWorker(loadConfig(EVENT_WORKER_SECTIONS), { dynamo, secretsManager, sqs, eventBridge, s3, lambda });
 * export const handler = createEventWorkerHandler(deps);
 */
export function wireEventWorker(
  config: EventWorkerConfig,
  clients: EventWorkerClients,
  local: EventWorkerLocalParts = {},
): EventWorkerDeps {
  const clock = Date.now;
  const { logger, metrics, flushMetrics } = createFunctionTelemetry(
    config.log,
    SERVICE_NAMES.worker,
    local.telemetry,
  );
  const registry = orgRegistryFromConfig(config.orgs, clients.dynamo, clock);
  // reads token secrets (never mints); a 401 a re-read cannot cure asks the refresher
  const tallyfyFor = tallyfyPerOrgFromConfig(config, {
    ...clients,
    ...local,
    clock,
    logger,
    metrics,
  });
  return {
    registry,
    ledger: registry,
    archive:
      local.archive ??
      createS3Archive({ client: requireClient(clients.s3, 'S3'), bucket: config.archive.bucket }),
    bus: createEventBridgeBus({
      client: clients.eventBridge,
      eventBusName: config.bus.eventBusName,
    }),
    tallyfy: tallyfyFor,
    secrets: createSigningSecrets({
      client: clients.secretsManager,
      prefix: config.secrets.prefix,
      clock,
    }),
    publisher: createEventBridgePublisher({
      client: clients.eventBridge,
      eventBusName: config.bus.eventBusName,
    }),
    deadLetters: createSqsDeadLetterSink({
      client: clients.sqs,
      queueUrl: config.worker.deadLetterQueueUrl,
    }),
    visibility: createSqsMessageVisibility({ client: clients.sqs }),
    // a Retry-After beyond the client's own cap: the message waits it out without a receive
    deferral: {
      port: createSqsMessageDeferral({ client: clients.sqs }),
      thresholdMs: config.tallyfy.retryAfterCapSeconds * 1000,
    },
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
    flushMetrics,
  };
}
