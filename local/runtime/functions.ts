/**
 * The Lambda functions of the stack, built in-process by the same wiring functions their
 * `index.ts` calls (`functions/<name>/wiring.ts`), with clients of the local engines. What
 * local mode adds where AWS has a service of its own: the archive and the reports are files
 * under DATA_DIR (no local S3), and a refresh request runs the refresher in this process
 * (`REFRESH_REQUESTS=local`) instead of a Lambda invoke.
 */
import { join } from 'node:path';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import {
  createEventWorkerHandler,
  type EventWorkerDeps,
} from '../../functions/event-worker/handler.ts';
import { wireEventWorker } from '../../functions/event-worker/wiring.ts';
import {
  createReconcilerHandler,
  type ReconcilerDeps,
} from '../../functions/reconciler/handler.ts';
import { wireReconciler } from '../../functions/reconciler/wiring.ts';
import { createReporterHandler } from '../../functions/reporter/handler.ts';
import { wireReporter } from '../../functions/reporter/wiring.ts';
import { createTokenRefresherHandler } from '../../functions/token-refresher/handler.ts';
import { wireTokenRefresher } from '../../functions/token-refresher/wiring.ts';
import {
  createWebhookReceiverHandler,
  type WebhookReceiverDeps,
} from '../../functions/webhook-receiver/handler.ts';
import { wireWebhookReceiver } from '../../functions/webhook-receiver/wiring.ts';
import type { Config, SectionName } from '../../shared/config.ts';
import { createFileArchive } from '../../shared/events/index.ts';
import { SERVICE_NAMES, type TelemetryOutput } from '../../shared/observability/index.ts';
import { fileReportSink, type ReportDeps } from '../../shared/reports/index.ts';
import type { RefreshRequest, TokenRefresherDeps } from '../../shared/tokens/index.ts';

/** The clients of the local engines, shared by every function of this process. */
export interface LocalClients {
  dynamo: DynamoDBDocumentClient;
  secretsManager: SecretsManagerClient;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
}

export interface FunctionContext {
  /** Every section: local mode runs every function. */
  config: Config<SectionName>;
  clients: LocalClients;
  dataDir: string;
  /** Where every function's log lines and metrics go. */
  telemetry: TelemetryOutput;
}

export type ReceiverHandler = (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;
export type WorkerHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;
export type InvocableHandler = (event: unknown) => Promise<unknown>;

/** What each function was built with (the same set its Lambda entry builds). */
export interface LocalDependencies {
  [SERVICE_NAMES.receiver]: WebhookReceiverDeps;
  [SERVICE_NAMES.worker]: EventWorkerDeps;
  [SERVICE_NAMES.refresher]: TokenRefresherDeps;
  [SERVICE_NAMES.reconciler]: ReconcilerDeps;
  [SERVICE_NAMES.reporter]: ReportDeps;
}

export interface LocalFunctions {
  receiver: ReceiverHandler;
  worker: WorkerHandler;
  /** What `POST /_local/invoke/<name>` and the schedules run, by service name. */
  invocable: ReadonlyMap<string, InvocableHandler>;
  deps: LocalDependencies;
}

/**
 * The receiver's group commit here (one process takes many webhooks at once): one
 * SendMessage(Batch) call and one seen-marker write in flight; the requests that arrive
 * meanwhile share the next call (10 messages, 25 markers at most). One of each makes the
 * largest groups, and the cheapest per webhook: a marker write of 25 costs DynamoDB Local
 * about a third of 25 PutItems' CPU (docs/local.md, "Bursts").
 */
const RECEIVER_GROUP_COMMIT = { sendsInFlight: 1, markerWritesInFlight: 1 } as const;

/** Builds every function of the stack through its wiring. */
export function buildFunctions(ctx: FunctionContext): LocalFunctions {
  const { config, clients, telemetry } = ctx;
  const archive = createFileArchive({ baseDir: join(ctx.dataDir, 'archive') });

  const refresherDeps = wireTokenRefresher(config, clients, { telemetry });
  const refresher = createTokenRefresherHandler(refresherDeps);
  // a refresh request resolves once the refresh is done, so the requester re-reads at once
  const refreshInProcess = (request: RefreshRequest) => refresher(request);

  const deps: LocalDependencies = {
    [SERVICE_NAMES.receiver]: wireWebhookReceiver(config, clients, {
      archive,
      telemetry,
      groupCommit: RECEIVER_GROUP_COMMIT,
    }),
    [SERVICE_NAMES.worker]: wireEventWorker(config, clients, {
      archive,
      refreshInProcess,
      telemetry,
    }),
    [SERVICE_NAMES.refresher]: refresherDeps,
    [SERVICE_NAMES.reconciler]: wireReconciler(config, clients, { refreshInProcess, telemetry }),
    [SERVICE_NAMES.reporter]: wireReporter(config, clients, {
      reports: fileReportSink(ctx.dataDir),
      refreshInProcess,
      telemetry,
    }),
  };
  const reconciler = createReconcilerHandler(deps[SERVICE_NAMES.reconciler]);
  const reporter = createReporterHandler(deps[SERVICE_NAMES.reporter]);
  const invocable = new Map<string, InvocableHandler>([
    [SERVICE_NAMES.refresher, (event) => refresher(event)],
    [SERVICE_NAMES.reconciler, (event) => reconciler(event)],
    [SERVICE_NAMES.reporter, (event) => reporter(event)],
  ]);
  return {
    receiver: createWebhookReceiverHandler(deps[SERVICE_NAMES.receiver]),
    worker: createEventWorkerHandler(deps[SERVICE_NAMES.worker]),
    invocable,
    deps,
  };
}
