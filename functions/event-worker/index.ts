/**
 * event-worker Lambda: the events queue's consumer (SQS, partial batch failures). Clients,
 * config, the token cache and the per-org Tallyfy clients live at module scope, so warm
 * invocations reuse them.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  createEventBridgePublisher,
  createSigningSecrets,
  createSqsDeadLetterSink,
  createSqsMessageVisibility,
  tallyfyForOrgs,
} from '../../shared/automations/index.ts';
import { loadConfig } from '../../shared/config.ts';
import { createEventBridgeBus, createS3Archive } from '../../shared/events/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { createOrgRegistry, createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { tallyfyClientOptions } from '../../shared/tallyfy/from-config.ts';
import { tokenCacheOptions } from '../../shared/tokens/from-config.ts';
import { createTokenProvider, createTokenStore } from '../../shared/tokens/index.ts';
import { createEventWorkerHandler } from './handler.ts';

const config = loadConfig([
  'tallyfy',
  'orgs',
  'secrets',
  'tokens',
  'refreshRequests',
  'bus',
  'archive',
  'dedupe',
  'worker',
]);
const { region } = config.aws;
const logger = createLogger({ serviceName: 'event-worker', level: config.log.logLevel });
const metrics = createMetrics({
  namespace: 'TallyfyServerless',
  serviceName: 'event-worker',
  logger,
});
const clock = Date.now;

const { document } = createOrgsDynamoClients({ region, endpoint: config.aws.dynamoDbEndpoint });
const registry = createOrgRegistry({
  client: document,
  tableName: config.orgs.tableName,
  clock,
  shards: config.orgs.refreshShardCount,
});
const secretsManager = new SecretsManagerClient({
  region,
  endpoint: config.aws.secretsManagerEndpoint,
});
const sqs = new SQSClient({ region, endpoint: config.aws.sqsEndpoint });
const eventBridge = new EventBridgeClient({ region, endpoint: config.aws.eventBridgeEndpoint });
const lambda = new LambdaClient({ region, endpoint: config.aws.lambdaEndpoint });
const s3 = new S3Client({
  region,
  endpoint: config.aws.s3Endpoint,
  forcePathStyle: config.aws.s3Endpoint !== undefined,
});

const refreshTarget = config.refreshRequests.target;
const tokens = createTokenProvider({
  store: createTokenStore({ client: secretsManager, prefix: config.secrets.prefix }),
  clock,
  ...tokenCacheOptions(config.tokens, logger),
  // synchronous invoke: when it returns, the refresher has stored the new token (or failed)
  async requestRefresh(orgId, reason) {
    if (refreshTarget.kind !== 'lambda') {
      throw new Error('REFRESH_REQUESTS=local only works in local mode (npm start)');
    }
    metrics.record('RefreshRequestsSent');
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: refreshTarget.functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify({ orgId, force: true, reason })),
      }),
    );
    if (out.FunctionError) throw new Error(`token refresher failed (${out.FunctionError})`);
  },
});

export const handler = createEventWorkerHandler({
  registry,
  ledger: registry,
  archive: createS3Archive({ client: s3, bucket: config.archive.bucket }),
  bus: createEventBridgeBus({ client: eventBridge, eventBusName: config.bus.eventBusName }),
  tallyfy: tallyfyForOrgs({
    auth: (orgId) => tokens.forOrg(orgId),
    client: tallyfyClientOptions(config.tallyfy),
  }),
  secrets: createSigningSecrets({ client: secretsManager, prefix: config.secrets.prefix, clock }),
  publisher: createEventBridgePublisher({
    client: eventBridge,
    eventBusName: config.bus.eventBusName,
  }),
  deadLetters: createSqsDeadLetterSink({ client: sqs, queueUrl: config.worker.deadLetterQueueUrl }),
  visibility: createSqsMessageVisibility({ client: sqs }),
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
