/**
 * The webhook receiver's composition: its dependencies from config and clients, built here
 * only. `index.ts` calls it with the AWS clients at module scope; local mode calls it with
 * clients of its local engines and a file archive.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireClient } from '../../shared/config/aws-clients.ts';
import type { Config } from '../../shared/config.ts';
import {
  createS3Archive,
  createSqsEventQueue,
  type RawArchive,
} from '../../shared/events/index.ts';
import {
  createFunctionTelemetry,
  SERVICE_NAMES,
  type TelemetryOutput,
} from '../../shared/observability/index.ts';
import { orgRegistryFromConfig } from '../../shared/orgs/index.ts';
import { seenEventsFromConfig } from '../../shared/reconcile/from-config.ts';
import { markSeenAfterSend } from '../../shared/reconcile/seen.ts';
import { cachedWebhookAuthLookup } from '../../shared/webhooks/index.ts';
import type { WebhookReceiverDeps } from './handler.ts';

/** The config sections the receiver reads (plus `log` and `aws`). */
export const WEBHOOK_RECEIVER_SECTIONS = ['orgs', 'queue', 'archive', 'webhook', 'dedupe'] as const;
export type WebhookReceiverConfig = Config<(typeof WEBHOOK_RECEIVER_SECTIONS)[number]>;

export interface WebhookReceiverClients {
  dynamo: DynamoDBDocumentClient;
  sqs: SQSClient;
  /** The raw archive's bucket (ARCHIVE_BUCKET), unless `archive` is given. */
  s3?: S3Client | undefined;
}

/** What local mode puts where AWS has a service of its own. */
export interface WebhookReceiverLocalParts {
  /** @default the S3 archive in ARCHIVE_BUCKET */
  archive?: RawArchive | undefined;
  telemetry?: TelemetryOutput | undefined;
  /**
   * Group commit of the sends and of the seen markers: local mode handles many requests at
   * once in one process, and those waiting together share one SendMessageBatch and one
   * BatchWriteItem (each request still answered only once its own message and marker are
   * stored). A Lambda container handles one request at a time: there nothing would group.
   * @default undefined (a SendMessage and a marker PutItem per request)
   */
  groupCommit?: { sendsInFlight: number; markerWritesInFlight: number } | undefined;
}

/**
 * @example
 * const deps = wireWebhookReceiver(loadConfig(WEBHOOK_RECEIVER_SECTIONS), { dynamo, sqs, s3 });
 * export const handler = createWebhookReceiverHandler(deps);
 */
export function wireWebhookReceiver(
  config: WebhookReceiverConfig,
  clients: WebhookReceiverClients,
  local: WebhookReceiverLocalParts = {},
): WebhookReceiverDeps {
  const clock = Date.now;
  const { logger, metrics, flushMetrics } = createFunctionTelemetry(
    config.log,
    SERVICE_NAMES.receiver,
    local.telemetry,
  );
  const registry = orgRegistryFromConfig(config.orgs, clients.dynamo, clock);
  return {
    auth: cachedWebhookAuthLookup(registry, { ttlMs: config.orgs.cacheTtlSeconds * 1000, clock }),
    // the seen marker tells the reconciler this event arrived (written only after SQS stored it)
    queue: markSeenAfterSend(
      createSqsEventQueue({
        client: clients.sqs,
        queueUrl: config.queue.eventsQueueUrl,
        groupCommit: local.groupCommit && { maxInFlight: local.groupCommit.sendsInFlight },
      }),
      seenEventsFromConfig(config, clients.dynamo, clock),
      {
        onMarkError: (error, eventIds) =>
          logger.error('seen marker not written', { error, eventIds }),
        groupCommit: local.groupCommit && {
          maxInFlight: local.groupCommit.markerWritesInFlight,
        },
      },
    ),
    archive:
      local.archive ??
      createS3Archive({ client: requireClient(clients.s3, 'S3'), bucket: config.archive.bucket }),
    clock,
    logger,
    metrics,
    limits: { maxBodyBytes: config.webhook.maxBodyBytes },
    flushMetrics,
  };
}
