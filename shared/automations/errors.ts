/**
 * Errors of the automation engine and the event worker. Callers branch on the class, `code` or
 * `retryable`, never on the message. Messages name rules, actions and event ids; never a
 * payload value, a token or a signing secret.
 */

export type AutomationErrorCode =
  | 'AUTOMATION_RULE_INVALID'
  | 'AUTOMATION_TEMPLATE_FAILED'
  | 'AUTOMATION_ACTION_FAILED'
  | 'AUTOMATION_ACTION_BUSY'
  | 'AUTOMATION_SECRET_UNAVAILABLE'
  | 'AUTOMATION_ORG_UNAVAILABLE';

/** Base of the family. `retryable`: whether the same message may succeed on a later receive. */
export class AutomationError extends Error {
  readonly code: AutomationErrorCode;
  readonly retryable: boolean;
  /** Do not retry before this long (Retry-After, or the live lease of an attempt in doubt). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: AutomationErrorCode,
    message: string,
    options: { retryable: boolean; retryAfterMs?: number | undefined; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A rule body does not match the rules format (docs/automations.md). Permanent. */
export class RuleInvalidError extends AutomationError {
  readonly ruleId: string;
  constructor(ruleId: string, message: string, options: { cause?: unknown } = {}) {
    super('AUTOMATION_RULE_INVALID', `rule ${ruleId}: ${message}`, {
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
    super('AUTOMATION_TEMPLATE_FAILED', message, { retryable: false });
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
  /** The underlying error's code (`not_found`, `server_error`, `http_503`…). */
  readonly causeCode: string;

  constructor(
    ruleId: string,
    actionIndex: number,
    causeCode: string,
    message: string,
    options: { retryable: boolean; retryAfterMs?: number | undefined; cause?: unknown },
  ) {
    super('AUTOMATION_ACTION_FAILED', `rule ${ruleId} action ${actionIndex}: ${message}`, options);
    this.ruleId = ruleId;
    this.actionIndex = actionIndex;
    this.causeCode = causeCode;
  }
}

/**
 * Another attempt of the same action holds its lease: let the message come back when the lease
 * has run out (`retryAfterMs`).
 */
export class ActionBusyError extends AutomationError {
  constructor(ruleId: string, actionIndex: number, eventId: string, retryAfterMs?: number) {
    super(
      'AUTOMATION_ACTION_BUSY',
      `rule ${ruleId} action ${actionIndex} of event ${eventId} is being run by another attempt`,
      { retryable: true, retryAfterMs },
    );
  }
}

/** A signing secret could not be read (missing secret → permanent; throttling → transient). */
export class SecretUnavailableError extends AutomationError {
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super('AUTOMATION_SECRET_UNAVAILABLE', message, options);
  }
}

/** The org is unknown, `needs_reauth` or `disabled`: its events cannot be acted on. Permanent. */
export class OrgUnavailableError extends AutomationError {
  readonly orgId: string;
  readonly reason: 'org_not_found' | 'org_needs_reauth' | 'org_disabled';
  constructor(orgId: string, reason: 'org_not_found' | 'org_needs_reauth' | 'org_disabled') {
    super('AUTOMATION_ORG_UNAVAILABLE', `org ${orgId}: ${reason.replace('org_', '')}`, {
      retryable: false,
    });
    this.orgId = orgId;
    this.reason = reason;
  }
}
