/**
 * webhook-receiver Lambda: `POST /hooks/{orgId}/{secret}` on the HTTP API. The clients and the
 * dependencies (org auth cache included) live at module scope, so warm invocations reuse them;
 * `wiring.ts` builds them, as it does for local mode.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientSettings } from '../../shared/config/aws-clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { mapBundleStackTraces } from '../../shared/observability/index.ts';
import { createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { createWebhookReceiverHandler } from './handler.ts';
import { WEBHOOK_RECEIVER_SECTIONS, wireWebhookReceiver } from './wiring.ts';

// stack traces name the TypeScript sources; the bundle's map is read when one is printed
mapBundleStackTraces(import.meta.url);
const config = loadConfig(WEBHOOK_RECEIVER_SECTIONS);
const { aws } = config;

export const deps = wireWebhookReceiver(config, {
  dynamo: createOrgsDynamoClients(awsClientSettings(aws, 'dynamoDb')).document,
  sqs: new SQSClient(awsClientSettings(aws, 'sqs')),
  s3: new S3Client(awsClientSettings(aws, 's3')),
});
export const handler = createWebhookReceiverHandler(deps);
