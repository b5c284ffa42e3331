/**
 * The reconciler's composition: its dependencies from config and clients, built here only.
 * `index.ts` calls it with the AWS clients at module scope; local mode calls it with clients of
 * its local engines and an in-process refresher.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../shared/config.ts';
import { createSqsEventQueue } from '../../shared/events/index.ts';
import {
  createFunctionTelemetry,
  SERVICE_NAMES,
  type TelemetryOutput,
} from '../../shared/observability/index.ts';
import { orgRegistryFromConfig } from '../../shared/orgs/index.ts';
import { seenEventsFromConfig } from '../../shared/reconcile/index.ts';
import { tallyfyPerOrgFromConfig } from '../../shared/tokens/from-config.ts';
import type { RefreshRequest } from '../../shared/tokens/index.ts';
import type { ReconcilerDeps } from './handler.ts';

/** The config sections the reconciler reads (plus `log` and `aws`). */
export const RECONCILER_SECTIONS = [
  'tallyfy',
  'orgs',
  'secrets',
  'tokens',
  'refreshRequests',
  'queue',
  'dedupe',
  'reconciler',
] as const;
export type ReconcilerConfig = Config<(typeof RECONCILER_SECTIONS)[number]>;

export interface ReconcilerClients {
  dynamo: DynamoDBDocumentClient;
  secretsManager: SecretsManagerClient;
  sqs: SQSClient;
  /** Refresh requests to the refresher function (REFRESH_REQUESTS=<function>). */
  lambda?: LambdaClient | undefined;
}

/** What local mode puts where AWS has a service of its own. */
export interface ReconcilerLocalParts {
  /** Runs a refresh request in this process (REFRESH_REQUESTS=local). */
  refreshInProcess?: ((request: RefreshRequest) => Promise<unknown>) | undefined;
  telemetry?: TelemetryOutput | undefined;
}

/**
 * @example
 * const deps = wireReconciler(loadConfig(RECONCILER_SECTIONS), { dynamo, secretsManager, sqs, lambda });
 * export const handler = createReconcilerHandler(deps);
 */
export function wireReconciler(
  config: ReconcilerConfig,
  clients: ReconcilerClients,
  local: ReconcilerLocalParts = {},
): ReconcilerDeps {
  const clock = Date.now;
  const { logger, metrics, flushMetrics } = createFunctionTelemetry(
    config.log,
    SERVICE_NAMES.reconciler,
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
  return {
    registry: orgRegistryFromConfig(config.orgs, clients.dynamo, clock),
    seen: seenEventsFromConfig(config, clients.dynamo, clock),
    queue: createSqsEventQueue({ client: clients.sqs, queueUrl: config.queue.eventsQueueUrl }),
    tallyfyFor,
    clock,
    logger,
    metrics,
    options: {
      overlapMinutes: config.reconciler.overlapMinutes,
      concurrency: config.reconciler.concurrency,
      rescueGraceMinutes: config.reconciler.rescueGraceMinutes,
    },
    flushMetrics,
  };
}
