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
  ttlMs: config.tokens.cacheTtlSeconds * 1000,
  skewMs: config.tokens.expirySkewSeconds * 1000,
  requestRefresh: createRefreshRequester(config.refreshRequests.target, {
    lambda: new LambdaClient({ region, endpoint: config.aws.lambdaEndpoint }),
  }),
  logger: {
    debug: (message, extra) => logger.debug(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
  },
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
    client: {
      baseUrl: config.tallyfy.baseUrl,
      connectTimeoutMs: config.tallyfy.connectTimeoutMs,
      headersTimeoutMs: config.tallyfy.headersTimeoutMs,
      bodyTimeoutMs: config.tallyfy.bodyTimeoutMs,
      retry: {
        maxRetries: config.tallyfy.maxRetries,
        retryAfterCapMs: config.tallyfy.retryAfterCapSeconds * 1000,
      },
    },
  }),
  clock,
  logger,
  metrics,
  options: { overlapMinutes: config.reconciler.overlapMinutes },
  flushMetrics: () => metrics.publishStoredMetrics(),
});
