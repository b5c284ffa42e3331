/**
 * The reconciler (finds events whose webhooks never arrived) and the seen markers that tell it
 * which events already reached the queue. See docs/reconciler.md.
 */
export {
  RECONCILE_ERROR_CODES,
  RECONCILE_UNEXPECTED,
  ReconcileError,
  type ReconcileErrorCode,
  ReconcileInputError,
  ReconcileOrgNotFoundError,
  ReconcileStoreError,
} from './errors.ts';
export { seenEventsFromConfig } from './from-config.ts';
export { parseReconcileEvent, type ReconcileRequest } from './input.ts';
export { type EventKeys, eventKeys, type WebhookDateFormat, webhookDateFormatOf } from './keys.ts';
export {
  processPayload,
  type RunView,
  taskCompletedPayload,
  webhookDate,
} from './payloads.ts';
export {
  type OrgResult,
  RECONCILE_STREAMS,
  RECONCILER_CURSOR,
  type ReconcileApi,
  type ReconcileDeps,
  type ReconcileResult,
  type ReconcilerMetrics,
  type ReconcilerOptions,
  type ReconcileStream,
  type RunBudget,
  reconcile,
  type StreamResult,
  watermarkStreamOf,
} from './reconcile.ts';
export { createRunViews, type RunViewApi, type RunViews } from './run-views.ts';
export {
  createDynamoSeenEvents,
  type DynamoSeenEventsOptions,
  type EventTrace,
  type MarkSeenAfterSendOptions,
  markSeenAfterSend,
  type SeenEvents,
  type SeenMark,
} from './seen.ts';
