/**
 * Automations (ARCHITECTURE.md "Automations") and the event worker's use case: the rules
 * format, matching, templates, actions run at most once per (event, rule, action), code-level
 * automations, and the SQS batch processing around them. See docs/automations.md.
 */
export {
  type ActionEnv,
  type EffectLookup,
  markerNameSuffix,
  markerTag,
  type PreparedAction,
  prepareAction,
} from './actions/index.ts';
export {
  AUTOMATIONS_EVENT_SOURCE,
  createEventBridgePublisher,
  createSigningSecrets,
  memoryCustomEventPublisher,
  type SigningSecretsOptions,
} from './adapters.ts';
export {
  type CodeAutomation,
  type CodeAutomationContext,
  codeRuleId,
  defineAutomation,
} from './code.ts';
export {
  type ActionOutcome,
  type AutomationDeps,
  type AutomationsResult,
  doubtsOfFailure,
  runAutomations,
} from './engine.ts';
export {
  ActionBusyError,
  type ActionDoubt,
  ActionFailedError,
  ActionInDoubtError,
  AUTOMATIONS_DEAD_LETTER_FAILED,
  AUTOMATIONS_ERROR_CODES,
  AUTOMATIONS_UNEXPECTED,
  AutomationError,
  type AutomationErrorCode,
  type HttpPostErrorCode,
  OrgUnavailableError,
  RuleInvalidError,
  SecretUnavailableError,
  TemplateError,
} from './errors.ts';
export { classifyFailure, type FailureClass, HttpPostError } from './failures.ts';
export { fieldMatches, matches } from './match.ts';
export type {
  ActionLedger,
  CustomEvent,
  CustomEventPublisher,
  SigningSecretRef,
  SigningSecrets,
  TallyfyFor,
} from './ports.ts';
export {
  type Action,
  type ActionType,
  actionSchema,
  type FieldCondition,
  parseRuleBody,
  type RuleBody,
  ruleBodySchema,
  USER_SCOPED_ACTIONS,
  userScopedActions,
  type When,
  whenSchema,
} from './rule-schema.ts';
export { SIGNATURE_HEADERS, signatureHeaders, signPayload, verifySignature } from './signing.ts';
export { renderTemplate, renderValue, templatePaths } from './template.ts';
export { type EventView, eventView } from './view.ts';
export {
  processBatch,
  type RecordOutcome,
  retryDelaySeconds,
  type WorkerDeps,
  type WorkerMetrics,
} from './worker/batch.ts';
export type {
  DeadLetterAttributes,
  DeadLetterSink,
  DeferredMessage,
  MessageDeferral,
  MessageVisibility,
  QueueMessageRef,
} from './worker/ports.ts';
export {
  BUS_RECORD_RULE_ID,
  failureCode,
  isPermanent,
  type ProcessEventDeps,
  type ProcessEventResult,
  processEvent,
} from './worker/process-event.ts';
export {
  createSqsDeadLetterSink,
  createSqsMessageDeferral,
  createSqsMessageVisibility,
  DEFERRALS_ATTRIBUTE,
  DEFERRED_UNTIL_ATTRIBUTE,
} from './worker/sqs.ts';
