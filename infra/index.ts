/**
 * Public door of the CDK constructs: compose `TallyfyIntegration` into your own app, or deploy
 * `TallyfyStack` as is (infra/app.ts).
 */
export { AlarmTopic, type AlarmTopicProps } from './constructs/alarms.ts';
export {
  EventsPipeline,
  type EventsPipelineProps,
  MAX_RECEIVE_COUNT,
  VISIBILITY_TIMEOUT_FACTOR,
} from './constructs/events.ts';
export {
  type ConsumeQueueOptions,
  FUNCTION_RUNTIME,
  type FunctionLogLevel,
  TallyfyFunction,
  type TallyfyFunctionProps,
} from './constructs/function.ts';
export {
  ORGS_TABLE_KEYS,
  ORGS_TABLE_LOGICAL_ID,
  OrgsTable,
  type OrgsTableProps,
} from './constructs/orgs-table.ts';
export {
  orgSecretNamePatterns,
  SecretsAccess,
  type SecretsAccessProps,
} from './constructs/secrets-access.ts';
export { Storage, type StorageProps } from './constructs/storage.ts';
export {
  CONTEXT_PREFIX,
  readSettings,
  SETTINGS_SCHEMA,
  type Settings,
  SettingsError,
  stackPropsFromSettings,
} from './settings.ts';
export { TallyfyStack, type TallyfyStackProps } from './stack.ts';
export {
  type AddFunctionOptions,
  type ResolvedRefreshMargin,
  type ResolvedSchedules,
  TALLYFY_PARTS,
  TallyfyIntegration,
  type TallyfyIntegrationProps,
  type TallyfyPart,
  type TallyfyRefreshMargin,
  type TallyfySchedules,
} from './tallyfy-integration.ts';
