/**
 * webhook-receiver Lambda: `POST /hooks/{orgId}/{secret}` on the HTTP API. Clients, config and
 * the org auth cache live at module scope, so warm invocations reuse them.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../../shared/config.ts';
import { createS3Archive, createSqsEventQueue } from '../../shared/events/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { createOrgRegistry, createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { createDynamoSeenEvents, markSeenAfterSend } from '../../shared/reconcile/seen.ts';
import { cachedWebhookAuthLookup } from '../../shared/webhooks/index.ts';
import { createWebhookReceiverHandler } from './handler.ts';

const config = loadConfig(['orgs', 'queue', 'archive', 'webhook', 'dedupe']);
const { region } = config.aws;
const logger = createLogger({ serviceName: 'webhook-receiver', level: config.log.logLevel });
const metrics = createMetrics({
  namespace: 'TallyfyServerless',
  serviceName: 'webhook-receiver',
  logger,
});
const clock = Date.now;

const { document } = createOrgsDynamoClients({ region, endpoint: config.aws.dynamoDbEndpoint });
const registry = createOrgRegistry({ client: document, tableName: config.orgs.tableName, clock });
const sqs = new SQSClient({ region, endpoint: config.aws.sqsEndpoint });
const s3 = new S3Client({
  region,
  endpoint: config.aws.s3Endpoint,
  forcePathStyle: config.aws.s3Endpoint !== undefined,
});

export const handler = createWebhookReceiverHandler({
  auth: cachedWebhookAuthLookup(registry, { ttlMs: config.orgs.cacheTtlSeconds * 1000, clock }),
  // the seen marker tells the reconciler this event arrived (written only after SQS stored it)
  queue: markSeenAfterSend(
    createSqsEventQueue({ client: sqs, queueUrl: config.queue.eventsQueueUrl }),
    createDynamoSeenEvents({
      client: document,
      tableName: config.orgs.tableName,
      clock,
      ttlSeconds: config.dedupe.ttlDays * 86_400,
    }),
    {
      onMarkError: (error, eventIds) =>
        logger.error('seen marker not written', { error, eventIds }),
    },
  ),
  archive: createS3Archive({ client: s3, bucket: config.archive.bucket }),
  clock,
  logger,
  metrics,
  limits: { maxBodyBytes: config.webhook.maxBodyBytes },
  flushMetrics: () => metrics.publishStoredMetrics(),
});
