/**
 * Public door of the CDK constructs: compose `TallyfyIntegration` into your own app, or deploy
 * `TallyfyStack` as is (infra/app.ts).
 */
export { AlarmTopic, type AlarmTopicProps, type TallyfyAlarmOptions } from './constructs/alarms.ts';
export { TallyfyDashboard, type TallyfyDashboardProps } from './constructs/dashboard.ts';
export {
  DEFAULT_WORKER_MAX_CONCURRENCY,
  EventWorker,
  type EventWorkerProps,
  WORKER_TABLE_CALLS,
} from './constructs/event-worker.ts';
export {
  EventsPipeline,
  type EventsPipelineProps,
  MAX_RECEIVE_COUNT,
  VISIBILITY_TIMEOUT_FACTOR,
} from './constructs/events.ts';
export {
  type AsyncFailureOptions,
  type BucketBindingOptions,
  type ConsumeQueueOptions,
  FUNCTION_RUNTIME,
  type FunctionLogLevel,
  TallyfyFunction,
  type TallyfyFunctionProps,
} from './constructs/function.ts';
export { grantKeyVia, type KeyService, viaService } from './constructs/kms.ts';
export {
  defaultMetricsNamespace,
  type EmittedMetricName,
  METRICS_NAMESPACE_PREFIX,
  type PartMetricOptions,
  partMetric,
  perOrgSum,
  validateMetricsNamespace,
} from './constructs/metrics.ts';
export {
  grantOperatorAccess,
  OPERATOR_SECRET_ACTIONS,
  OPERATOR_TABLE_ACCESS,
  type OperatorResources,
} from './constructs/operator.ts';
export {
  accessForCalls,
  grantTableAccess,
  ORGS_TABLE_KEYS,
  ORGS_TABLE_LOGICAL_ID,
  ORGS_TABLE_READ_ONLY,
  OrgsTable,
  type OrgsTableIndex,
  type OrgsTableProps,
  TABLE_CALLS,
  type TableAccess,
  type TableCall,
  type TableItemAction,
} from './constructs/orgs-table.ts';
export {
  BUNDLE_SIZE_BUDGET_BYTES,
  FUNCTION_ENTRIES,
  TALLYFY_PARTS,
  type TallyfyPart,
} from './constructs/parts.ts';
export {
  RECONCILER_TABLE_CALLS,
  Reconciler,
  type ReconcilerProps,
} from './constructs/reconciler.ts';
export {
  REPORTER_TABLE_CALLS,
  REPORTS_KEY_PREFIX,
  Reporter,
  type ReporterProps,
} from './constructs/reporter.ts';
export {
  orgSecretNamePatterns,
  SecretsAccess,
  type SecretsAccessProps,
} from './constructs/secrets-access.ts';
export { Storage, type StorageProps } from './constructs/storage.ts';
export {
  REFRESHER_TABLE_CALLS,
  TokenRefresher,
  type TokenRefresherProps,
} from './constructs/token-refresher.ts';
export {
  ACCESS_LOG_FIELDS,
  RECEIVER_TABLE_CALLS,
  WEBHOOK_ROUTE_PATH,
  WEBHOOKS_THROTTLED_METRIC,
  WebhookReceiver,
  type WebhookReceiverProps,
} from './constructs/webhook-receiver.ts';
export {
  CONTEXT_PREFIX,
  readSettings,
  SETTINGS_SCHEMA,
  type Settings,
  SettingsError,
  stackPropsFromSettings,
} from './settings.ts';
export {
  STACK_OUTPUTS,
  type StackOutputName,
  TallyfyStack,
  type TallyfyStackProps,
} from './stack.ts';
export {
  type AddFunctionOptions,
  DEFAULT_REFRESHER_RESERVED_CONCURRENCY,
  DEFAULT_WEBHOOK_THROTTLE,
  type ResolvedRefreshMargin,
  type ResolvedSchedules,
  type TallyfyAlarmThresholds,
  type TallyfyFunctionSize,
  TallyfyIntegration,
  type TallyfyIntegrationProps,
  type TallyfyRefreshMargin,
  type TallyfySchedules,
  type TallyfyWebhookThrottle,
} from './tallyfy-integration.ts';
