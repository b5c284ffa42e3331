/**
 * event-worker Lambda: the events queue's consumer (SQS, partial batch failures). The clients
 * and the dependencies (token cache, per-org Tallyfy clients) live at module scope, so warm
 * invocations reuse them; `wiring.ts` builds them, as it does for local mode.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientSettings } from '../../shared/config/aws-clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { mapBundleStackTraces } from '../../shared/observability/index.ts';
import { createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { createEventWorkerHandler } from './handler.ts';
import { EVENT_WORKER_SECTIONS, wireEventWorker } from './wiring.ts';

// stack traces name the TypeScript sources; the bundle's map is read when one is printed
mapBundleStackTraces(import.meta.url);
const config = loadConfig(EVENT_WORKER_SECTIONS);
const { aws } = config;

export const deps = wireEventWorker(config, {
  dynamo: createOrgsDynamoClients(awsClientSettings(aws, 'dynamoDb')).document,
  secretsManager: new SecretsManagerClient(awsClientSettings(aws, 'secretsManager')),
  sqs: new SQSClient(awsClientSettings(aws, 'sqs')),
  eventBridge: new EventBridgeClient(awsClientSettings(aws, 'eventBridge')),
  s3: new S3Client(awsClientSettings(aws, 's3')),
  lambda: new LambdaClient(awsClientSettings(aws, 'lambda')),
});
export const handler = createEventWorkerHandler(deps);
