/**
 * webhook-receiver Lambda: `POST /hooks/{orgId}/{secret}` on the HTTP API. Clients, config and
 * the org auth cache live at module scope, so warm invocations reuse them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../shared/config.ts';
import { createS3Archive, createSqsEventQueue } from '../../shared/events/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { cachedWebhookAuthLookup } from '../../shared/webhooks/index.ts';
import { createWebhookReceiverHandler } from './handler.ts';
import { dynamoWebhookAuthLookup } from './org-auth.ts';

const config = loadConfig(['orgs', 'queue', 'archive', 'webhook']);
const { region } = config.aws;
const logger = createLogger({ serviceName: 'webhook-receiver', level: config.log.logLevel });
const metrics = createMetrics({
  namespace: 'TallyfyServerless',
  serviceName: 'webhook-receiver',
  logger,
});
const clock = Date.now;

const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region, endpoint: config.aws.dynamoDbEndpoint }),
);
const sqs = new SQSClient({ region, endpoint: config.aws.sqsEndpoint });
const s3 = new S3Client({
  region,
  endpoint: config.aws.s3Endpoint,
  forcePathStyle: config.aws.s3Endpoint !== undefined,
});

export const handler = createWebhookReceiverHandler({
  auth: cachedWebhookAuthLookup(
    dynamoWebhookAuthLookup({ client: dynamo, tableName: config.orgs.tableName, clock }),
    { ttlMs: config.orgs.cacheTtlSeconds * 1000, clock },
  ),
  queue: createSqsEventQueue({ client: sqs, queueUrl: config.queue.eventsQueueUrl }),
  archive: createS3Archive({ client: s3, bucket: config.archive.bucket }),
  clock,
  logger,
  metrics,
  limits: { maxBodyBytes: config.webhook.maxBodyBytes },
  flushMetrics: () => metrics.publishStoredMetrics(),
});
