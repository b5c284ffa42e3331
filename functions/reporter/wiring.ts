/**
 * The reporter's composition: its dependencies from config and clients, built here only.
 * `index.ts` calls it with the AWS clients at module scope; local mode calls it with clients of
 * its local engines, a file report sink and an in-process refresher.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireClient } from '../../shared/config/aws-clients.ts';
import type { Config } from '../../shared/config.ts';
import {
  createFunctionTelemetry,
  SERVICE_NAMES,
  type TelemetryOutput,
} from '../../shared/observability/index.ts';
import { orgRegistryFromConfig } from '../../shared/orgs/index.ts';
import {
  dynamoEventFigures,
  powertoolsReportMetrics,
  type ReportDeps,
  type ReportSink,
  registryOrgLister,
  registryPendingReports,
  s3ReportSink,
  tallyfyClientLists,
  tallyfyReportSource,
} from '../../shared/reports/index.ts';
import { parseTallyfyDateMs } from '../../shared/tallyfy/index.ts';
import { tallyfyPerOrgFromConfig } from '../../shared/tokens/from-config.ts';
import type { RefreshRequest } from '../../shared/tokens/index.ts';

/** The config sections the reporter reads (plus `log` and `aws`). */
export const REPORTER_SECTIONS = [
  'tallyfy',
  'orgs',
  'secrets',
  'tokens',
  'refreshRequests',
  'dedupe',
  'reports',
] as const;
export type ReporterConfig = Config<(typeof REPORTER_SECTIONS)[number]>;

export interface ReporterClients {
  dynamo: DynamoDBDocumentClient;
  secretsManager: SecretsManagerClient;
  /** The reports bucket (REPORTS_BUCKET), unless `reports` is given. */
  s3?: S3Client | undefined;
  /** Refresh requests to the refresher function (REFRESH_REQUESTS=<function>). */
  lambda?: LambdaClient | undefined;
}

/** What local mode puts where AWS has a service of its own. */
export interface ReporterLocalParts {
  /** @default S3, REPORTS_BUCKET */
  reports?: ReportSink | undefined;
  /** Runs a refresh request in this process (REFRESH_REQUESTS=local). */
  refreshInProcess?: ((request: RefreshRequest) => Promise<unknown>) | undefined;
  telemetry?: TelemetryOutput | undefined;
}

/**
 * @example
 * const deps = wireReporter(loadConfig(REPORTER_SECTIONS), { dynamo, secretsManager, s3, lambda });
 * export const handler = createReporterHandler(deps);
 */
export function wireReporter(
  config: ReporterConfig,
  clients: ReporterClients,
  local: ReporterLocalParts = {},
): ReportDeps {
  const clock = Date.now;
  const { logger, metrics } = createFunctionTelemetry(
    config.log,
    SERVICE_NAMES.reporter,
    local.telemetry,
  );
  // reads token secrets (never mints); a 401 a re-read cannot cure asks the refresher
  const tallyfyFor = tallyfyPerOrgFromConfig(config, {
    ...clients,
    ...local,
    clock,
    logger,
    metrics,
  });
  const registry = orgRegistryFromConfig(config.orgs, clients.dynamo, clock);
  return {
    source: tallyfyReportSource((orgId) => tallyfyClientLists(tallyfyFor(orgId).client), {
      pageSize: config.reports.pageSize,
      parseDate: parseTallyfyDateMs,
    }),
    sink: local.reports ?? s3ReportSink(requireClient(clients.s3, 'S3'), config.reports.bucket),
    orgs: registryOrgLister(registry),
    // a scheduled period deferred by a rate limit is reported by the next scheduled run
    pending: registryPendingReports(registry),
    events: dynamoEventFigures({
      client: clients.dynamo,
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
  };
}
