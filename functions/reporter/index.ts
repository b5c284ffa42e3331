/**
 * reporter Lambda: an EventBridge schedule (daily at REPORT_HOUR_UTC, default 06:00 UTC) reports
 * on every active org; `{orgId, since?, until?}` reports on one org and a custom period (CLI).
 * Clients and config live at module scope, so warm invocations reuse them.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../shared/config.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { createOrgRegistry, createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { tallyfyApiPerOrg } from '../../shared/reconcile/index.ts';
import {
  dynamoEventFigures,
  powertoolsReportMetrics,
  registryOrgLister,
  s3ReportSink,
  tallyfyClientLists,
  tallyfyReportSource,
} from '../../shared/reports/index.ts';
import { tallyfyClientOptions } from '../../shared/tallyfy/from-config.ts';
import { parseTallyfyDateMs } from '../../shared/tallyfy/index.ts';
import { tokenCacheOptions } from '../../shared/tokens/from-config.ts';
import {
  createRefreshRequester,
  createTokenProvider,
  createTokenStore,
} from '../../shared/tokens/index.ts';
import { createReporterHandler } from './handler.ts';

const config = loadConfig([
  'tallyfy',
  'orgs',
  'secrets',
  'tokens',
  'refreshRequests',
  'dedupe',
  'reports',
]);
const { region } = config.aws;
const logger = createLogger({ serviceName: 'reporter', level: config.log.logLevel });
const metrics = createMetrics({ namespace: 'TallyfyServerless', serviceName: 'reporter', logger });
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
const apiFor = tallyfyApiPerOrg({
  tokens,
  client: tallyfyClientOptions(config.tallyfy),
});
const s3 = new S3Client({
  region,
  endpoint: config.aws.s3Endpoint,
  forcePathStyle: config.aws.s3Endpoint !== undefined,
});

export const handler = createReporterHandler({
  source: tallyfyReportSource((orgId) => tallyfyClientLists(apiFor(orgId).client), {
    pageSize: config.reports.pageSize,
    parseDate: parseTallyfyDateMs,
  }),
  sink: s3ReportSink(s3, config.reports.bucket),
  orgs: registryOrgLister(registry),
  events: dynamoEventFigures({
    client: document,
    tableName: config.orgs.tableName,
    clock,
    retentionDays: config.dedupe.ttlDays,
    log: logger,
  }),
  metrics: powertoolsReportMetrics(metrics),
  log: logger,
  clock,
  concurrency: config.reports.concurrency,
  periodDays: config.reports.windowDays,
});
