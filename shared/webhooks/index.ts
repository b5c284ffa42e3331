/**
 * The webhook receiver's library: payload schemas and classification, URL-secret auth, the
 * receive use case and the archive key layout. See docs/webhooks.md.
 */
export { ARCHIVE_KEY_PREFIX, webhookArchiveKey } from './archive-key.ts';
export {
  cachedWebhookAuthLookup,
  hashWebhookSecret,
  verifyWebhookSecret,
  type WebhookAuth,
  type WebhookAuthCacheOptions,
  type WebhookAuthLookup,
} from './auth.ts';
export { parseWebhookDate } from './dates.ts';
export {
  DEFAULT_MAX_BODY_BYTES,
  isJsonContentType,
  type ReceiveDeps,
  type ReceiveErrorBody,
  type ReceiveErrorCode,
  type ReceiveLimits,
  type ReceiveRequest,
  type ReceiveResponse,
  type ReceiverMetrics,
  receiveWebhook,
  WEBHOOKS_ERROR_CODES,
} from './receive.ts';
export {
  type ClassifyResult,
  classifyWebhook,
  type ProcessWebhook,
  processWebhookSchema,
  type TaskWebhook,
  tallyfyIdSchema,
  taskWebhookSchema,
  thisTaskSchema,
  type WatcherWebhook,
  type WebhookClassification,
  type WebhookIssue,
  type WebhookShape,
  watcherWebhookSchema,
  webhookDateSchema,
} from './schemas.ts';
