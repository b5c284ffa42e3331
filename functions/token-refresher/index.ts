/**
 * token-refresher Lambda: an EventBridge schedule (every REFRESH_INTERVAL_MINUTES) refreshes
 * every due org; workers invoke it asynchronously with `{orgId, force: true, reason}` after a
 * 401. Clients and config live at module scope, so warm invocations reuse them.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../shared/config.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { createOrgRegistry, createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { tallyfyOAuth } from '../../shared/tallyfy/index.ts';
import {
  createTallyfyGrants,
  createTokenStore,
  DEFAULT_REFRESH_POLICY,
} from '../../shared/tokens/index.ts';
import { createTokenRefresherHandler } from './handler.ts';

const config = loadConfig(['tallyfy', 'orgs', 'secrets', 'refresher']);
const { region } = config.aws;
const { refresher } = config;
const logger = createLogger({ serviceName: 'token-refresher', level: config.log.logLevel });
const metrics = createMetrics({
  namespace: 'TallyfyServerless',
  serviceName: 'token-refresher',
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
// 5 attempts: the standard strategy backs off on ThrottlingException (≈50 writes/s per region)
const secretsClient = new SecretsManagerClient({
  region,
  endpoint: config.aws.secretsManagerEndpoint,
  maxAttempts: 5,
});
const oauth = tallyfyOAuth({
  baseUrl: config.tallyfy.baseUrl,
  headersTimeoutMs: config.tallyfy.headersTimeoutMs,
  bodyTimeoutMs: config.tallyfy.bodyTimeoutMs,
  retryAfterCapMs: config.tallyfy.retryAfterCapSeconds * 1000,
});

export const handler = createTokenRefresherHandler({
  registry,
  secrets: createTokenStore({ client: secretsClient, prefix: config.secrets.prefix, clock }),
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
  clock,
  random: Math.random,
  logger,
  metrics,
  flushMetrics: () => metrics.publishStoredMetrics(),
  leaseDurationMs: refresher.leaseSeconds * 1000,
  concurrency: refresher.concurrency,
});
