/**
 * Errors of the automation engine and the event worker. Callers branch on the class, `code` or
 * `retryable`, never on the message. Messages name rules, actions and event ids; never a
 * payload value, a token or a signing secret.
 */

import { ACTION_IN_DOUBT } from '../error-codes.ts';

/**
 * Every code of the automation engine's and the worker's errors, `http_post`'s included
 * (docs/errors.md says what each means and what to do).
 */
export const AUTOMATIONS_ERROR_CODES = [
  'AUTOMATIONS_RULE_INVALID',
  'AUTOMATIONS_TEMPLATE_FAILED',
  'AUTOMATIONS_ACTION_FAILED',
  'AUTOMATIONS_ACTION_BUSY',
  'AUTOMATIONS_SECRET_UNAVAILABLE',
  'AUTOMATIONS_ORG_NOT_FOUND',
  'AUTOMATIONS_ORG_NEEDS_REAUTH',
  'AUTOMATIONS_ORG_DISABLED',
  'AUTOMATIONS_QUEUE_URL_UNKNOWN',
  'AUTOMATIONS_HTTP_POST_REJECTED',
  'AUTOMATIONS_HTTP_POST_REFUSED',
  'AUTOMATIONS_HTTP_POST_TIMED_OUT',
  'AUTOMATIONS_HTTP_POST_FAILED',
] as const;

/** The codes an {@link AutomationError} carries. */
export type AutomationErrorCode = Exclude<
  (typeof AUTOMATIONS_ERROR_CODES)[number],
  `AUTOMATIONS_HTTP_POST_${string}`
>;

/** The codes of `http_post`'s own failures (`HttpPostError`). */
export type HttpPostErrorCode = Extract<
  (typeof AUTOMATIONS_ERROR_CODES)[number],
  `AUTOMATIONS_HTTP_POST_${string}`
>;

/**
 * What a failure is recorded and counted as when its error is none of ours (an AWS SDK error, a
 * bug); such failures are retried, never dead-lettered.
 */
export const AUTOMATIONS_UNEXPECTED = 'AUTOMATIONS_UNEXPECTED';

/** A record's outcome code when its permanent failure could not be sent to the DLQ. */
export const AUTOMATIONS_DEAD_LETTER_FAILED = 'AUTOMATIONS_DEAD_LETTER_FAILED';

/**
 * An action whose outcome is unknown: its effect may or may not exist in Tallyfy (or at the
 * `http_post` receiver). What a dead letter and an operator need to decide.
 */
export interface ActionDoubt {
  ruleId: string;
  actionIndex: number;
  /** `launch_process`, `comment_on_task`, …, `code`. */
  type: string;
  /** The marker the effect carries (`tsf-…`), to look for it by hand. */
  marker: string;
}

/** Base of the family. `retryable`: whether the same message may succeed on a later receive. */
export class AutomationError extends Error {
  readonly code: AutomationErrorCode | typeof ACTION_IN_DOUBT;
  readonly retryable: boolean;
  /** Do not retry before this long (Retry-After, or the live lease of an attempt in doubt). */
  readonly retryAfterMs: number | undefined;
  /** The failure inside was a rate limit (429): a delay, not a failure of the event. */
  readonly rateLimited: boolean;

  constructor(
    code: AutomationErrorCode | typeof ACTION_IN_DOUBT,
    message: string,
    options: {
      retryable: boolean;
      retryAfterMs?: number | undefined;
      rateLimited?: boolean | undefined;
      cause?: unknown;
    },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.rateLimited = options.rateLimited ?? false;
  }
}

/** A rule body does not match the rules format (docs/automations.md). Permanent. */
export class RuleInvalidError extends AutomationError {
  readonly ruleId: string;
  constructor(ruleId: string, message: string, options: { cause?: unknown } = {}) {
    super('AUTOMATIONS_RULE_INVALID', `rule ${ruleId}: ${message}`, {
      retryable: false,
      ...options,
    });
    this.ruleId = ruleId;
  }
}

/** A `{{path}}` in a template names nothing in the event (and is not marked optional `?`). */
export class TemplateError extends AutomationError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('AUTOMATIONS_TEMPLATE_FAILED', message, { retryable: false });
    this.path = path;
  }
}

/**
 * An action failed. `retryable` says whether the message should come back (transient: 429,
 * 5xx, network) or go to the dead-letter queue (404, 422, a refused HTTP post…).
 * `retryAfterMs` carries Tallyfy's `Retry-After` when there was one.
 */
export class ActionFailedError extends AutomationError {
  readonly ruleId: string;
  readonly actionIndex: number;
  /** The underlying error's code (`TALLYFY_NOT_FOUND`, `AUTOMATIONS_HTTP_POST_REJECTED`…). */
  readonly causeCode: string;
  /**
   * Set when the failure leaves the action in doubt: its request may have taken effect (a 500
   * after it was sent, a timeout), or looking for an earlier attempt's effect failed. The next
   * attempt resolves it; the last receive dead-letters it as `ACTION_IN_DOUBT`.
   */
  readonly doubt: ActionDoubt | undefined;

  constructor(
    ruleId: string,
    actionIndex: number,
    causeCode: string,
    message: string,
    options: {
      retryable: boolean;
      retryAfterMs?: number | undefined;
      rateLimited?: boolean | undefined;
      cause?: unknown;
      doubt?: ActionDoubt | undefined;
    },
  ) {
    super('AUTOMATIONS_ACTION_FAILED', `rule ${ruleId} action ${actionIndex}: ${message}`, options);
    this.ruleId = ruleId;
    this.actionIndex = actionIndex;
    this.causeCode = causeCode;
    this.doubt = options.doubt;
  }
}

/**
 * An action's outcome cannot be resolved: looking for its effect could not tell (the search
 * reached its bound, or failed on the last receive), or the action may not be repeated
 * (`onDoubt: dead_letter`). Permanent: the event is dead-lettered with code `ACTION_IN_DOUBT`,
 * `doubts` in its `actionsInDoubt` attribute, and `dlq replay --in-doubt retry|done` lets the
 * operator decide. Never counted as done, never dropped.
 */
export class ActionInDoubtError extends AutomationError {
  readonly doubts: readonly ActionDoubt[];
  constructor(doubts: readonly ActionDoubt[], known: string, options: { cause?: unknown } = {}) {
    const which = doubts.map((d) => `rule ${d.ruleId} action ${d.actionIndex} (${d.type})`);
    super(ACTION_IN_DOUBT, `${which.join(', ')} in doubt: ${known}`, {
      retryable: false,
      ...options,
    });
    this.doubts = doubts;
  }
}

/**
 * Another attempt of the same action holds its lease: let the message come back when the lease
 * has run out (`retryAfterMs`).
 */
export class ActionBusyError extends AutomationError {
  constructor(ruleId: string, actionIndex: number, eventId: string, retryAfterMs?: number) {
    super(
      'AUTOMATIONS_ACTION_BUSY',
      `rule ${ruleId} action ${actionIndex} of event ${eventId} is being run by another attempt`,
      { retryable: true, retryAfterMs },
    );
  }
}

/** A signing secret could not be read (missing secret → permanent; throttling → transient). */
export class SecretUnavailableError extends AutomationError {
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super('AUTOMATIONS_SECRET_UNAVAILABLE', message, options);
  }
}

/** The org is unknown, `needs_reauth` or `disabled`: its events cannot be acted on. Permanent. */
export class OrgUnavailableError extends AutomationError {
  readonly orgId: string;
  /** Why: the org is not registered, or its status. */
  readonly reason: 'not_found' | 'needs_reauth' | 'disabled';
  constructor(orgId: string, reason: OrgUnavailableError['reason']) {
    const code = ORG_UNAVAILABLE_CODES[reason];
    super(code, `org ${orgId}: ${reason.replace('_', ' ')}`, { retryable: false });
    this.orgId = orgId;
    this.reason = reason;
  }
}

const ORG_UNAVAILABLE_CODES = {
  not_found: 'AUTOMATIONS_ORG_NOT_FOUND',
  needs_reauth: 'AUTOMATIONS_ORG_NEEDS_REAUTH',
  disabled: 'AUTOMATIONS_ORG_DISABLED',
} as const satisfies Record<OrgUnavailableError['reason'], AutomationErrorCode>;
