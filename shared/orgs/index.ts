/**
 * The org registry (ARCHITECTURE.md "Organisations"): the orgs table definition, the registry
 * over it, its schemas and errors. See docs/data-model.md. Its schemas are `z.lazy` where they
 * hold more than a check or two: built on their first parse, so a function's cold start builds
 * none of those it never parses.
 */
export { createOrgsDynamoClients, type OrgsClientOptions } from './client.ts';
export {
  ActionStateError,
  EventNotFoundError,
  InvalidInputError,
  ItemInvalidError,
  LeaseLostError,
  ORGS_ERROR_CODES,
  OrgAlreadyExistsError,
  OrgNotFoundError,
  OrgsError,
  type OrgsErrorCode,
  StoreError,
  VersionConflictError,
  WatermarkConflictError,
} from './errors.ts';
export {
  type BeginActionResult,
  DEFAULT_ACTION_LEASE_MS,
  MIN_DEDUPE_TTL_SECONDS,
} from './events.ts';
export {
  describeDedupeKey,
  type EventFlow,
  type EventOutcome,
  FLOW_FIGURES,
  FLOW_RETENTION_DAYS,
  type FlowCounts,
  type FlowFigure,
  type FlowHour,
  hourOf,
  hourStartMs,
  type ListOutcomesInput,
  OUTCOME_RETENTION_DAYS,
  type OutcomesPage,
  type ReadFlowInput,
} from './flow.ts';
export { orgRegistryFromConfig } from './from-config.ts';
export { type ActionKey, actionMarker, refreshShardOf, refreshShards } from './keys.ts';
export {
  type AcquiredLease,
  type DueOrgs,
  ERROR_CODE_INVALID,
  type LeaseClaim,
} from './leases.ts';
export { isOrgId, ORG_ID_MAX_LENGTH, ORG_ID_RULE, OrgIdSchema } from './org-id.ts';
export type { ListOrgsOptions, OrgsPage } from './orgs.ts';
export { createOrgRegistry, type OrgRegistry, type OrgRegistryOptions } from './registry.ts';
export {
  REPLAY_RETENTION_DAYS,
  type ReplayCounts,
  ReplayFilterRecordSchema,
  type ReplayRecord,
  ReplayRecordSchema,
  type ReplayRecordsPage,
  type ReplayUpdate,
  type StartReplayInput,
} from './replays.ts';
export {
  type ActionRecord,
  ActionRecordSchema,
  AUTH_MODES,
  type AuthMode,
  AuthModeSchema,
  type CreateOrgInput,
  CreateOrgInputSchema,
  type DueOrg,
  type EventOrigin,
  EventOriginSchema,
  type EventRecord,
  EventRecordSchema,
  type EventStatus,
  type JsonObject,
  type LastError,
  type Lease,
  type Org,
  type OrgPatch,
  OrgPatchSchema,
  OrgSchema,
  type OrgSettings,
  type OrgStatus,
  OrgStatusSchema,
  type Rule,
  type RuleInput,
  RuleSchema,
  TokenUrlSchema,
  type Watermark,
  type WebhookAuthRecord,
} from './schemas.ts';
export { type CreateOrgsTableResult, createOrgsTable, ORGS_TABLE_SCHEMA } from './table.ts';
export type { AdvanceResult } from './watermarks.ts';
