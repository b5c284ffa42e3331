/**
 * reconciler Lambda: an EventBridge schedule (every RECONCILE_INTERVAL_MINUTES) reconciles
 * every active org; `{orgId}` reconciles one on demand (CLI). Clients and config live at
 * module scope, so warm invocations reuse them.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../../shared/config.ts';
import { createSqsEventQueue } from '../../shared/events/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { createOrgRegistry, createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { createDynamoSeenEvents, tallyfyApiPerOrg } from '../../shared/reconcile/index.ts';
import { tallyfyClientOptions } from '../../shared/tallyfy/from-config.ts';
import { tokenCacheOptions } from '../../shared/tokens/from-config.ts';
import {
  createRefreshRequester,
  createTokenProvider,
  createTokenStore,
} from '../../shared/tokens/index.ts';
import { createReconcilerHandler } from './handler.ts';

const config = loadConfig([
  'tallyfy',
  'orgs',
  'secrets',
  'tokens',
  'refreshRequests',
  'queue',
  'dedupe',
  'reconciler',
]);
const { region } = config.aws;
const logger = createLogger({ serviceName: 'reconciler', level: config.log.logLevel });
const metrics = createMetrics({
  namespace: 'TallyfyServerless',
  serviceName: 'reconciler',
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
const secretsClient = new SecretsManagerClient({
  region,
  endpoint: config.aws.secretsManagerEndpoint,
});
const tokens = createTokenProvider({
  store: createTokenStore({ client: secretsClient, prefix: config.secrets.prefix, clock }),
  clock,
  ...tokenCacheOptions(config.tokens, logger),
  requestRefresh: createRefreshRequester(config.refreshRequests.target, {
    lambda: new LambdaClient({ region, endpoint: config.aws.lambdaEndpoint }),
  }),
});
const sqs = new SQSClient({ region, endpoint: config.aws.sqsEndpoint });

export const handler = createReconcilerHandler({
  registry,
  seen: createDynamoSeenEvents({
    client: document,
    tableName: config.orgs.tableName,
    clock,
    ttlSeconds: config.dedupe.ttlDays * 86_400,
  }),
  queue: createSqsEventQueue({ client: sqs, queueUrl: config.queue.eventsQueueUrl }),
  tallyfyFor: tallyfyApiPerOrg({
    tokens,
    client: tallyfyClientOptions(config.tallyfy),
  }),
  clock,
  logger,
  metrics,
  options: { overlapMinutes: config.reconciler.overlapMinutes },
  flushMetrics: () => metrics.publishStoredMetrics(),
});
