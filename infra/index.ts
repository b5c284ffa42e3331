/**
 * Public door of the CDK constructs: compose `TallyfyIntegration` into your own app, or deploy
 * `TallyfyStack` as is (infra/app.ts).
 */
export { AlarmTopic, type AlarmTopicProps, type TallyfyAlarmOptions } from './constructs/alarms.ts';
export { TallyfyDashboard, type TallyfyDashboardProps } from './constructs/dashboard.ts';
export { EventWorker, type EventWorkerProps } from './constructs/event-worker.ts';
export {
  EventsPipeline,
  type EventsPipelineProps,
  MAX_RECEIVE_COUNT,
  VISIBILITY_TIMEOUT_FACTOR,
} from './constructs/events.ts';
export {
  type BucketBindingOptions,
  type ConsumeQueueOptions,
  FUNCTION_RUNTIME,
  type FunctionLogLevel,
  TallyfyFunction,
  type TallyfyFunctionProps,
} from './constructs/function.ts';
export {
  type EmittedMetricName,
  METRICS_NAMESPACE,
  type PartMetricOptions,
  partMetric,
  perOrgSum,
} from './constructs/metrics.ts';
export {
  ORGS_TABLE_KEYS,
  ORGS_TABLE_LOGICAL_ID,
  OrgsTable,
  type OrgsTableProps,
} from './constructs/orgs-table.ts';
export {
  BUNDLE_SIZE_BUDGET_BYTES,
  FUNCTION_ENTRIES,
  TALLYFY_PARTS,
  type TallyfyPart,
} from './constructs/parts.ts';
export { Reconciler, type ReconcilerProps } from './constructs/reconciler.ts';
export { REPORTS_KEY_PREFIX, Reporter, type ReporterProps } from './constructs/reporter.ts';
export {
  orgSecretNamePatterns,
  SecretsAccess,
  type SecretsAccessProps,
} from './constructs/secrets-access.ts';
export { Storage, type StorageProps } from './constructs/storage.ts';
export { TokenRefresher, type TokenRefresherProps } from './constructs/token-refresher.ts';
export {
  ACCESS_LOG_FIELDS,
  WEBHOOK_ROUTE_PATH,
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
