/**
 * The worker's batch: SQS records → {@link processEvent} with bounded concurrency (per org and
 * in total) → `{ batchItemFailures }`.
 *
 * - success (or duplicate): not reported, SQS deletes it;
 * - transient failure: reported in `batchItemFailures`, and its visibility set to a backoff
 *   that grows with `ApproximateReceiveCount` (at least Tallyfy's Retry-After, or the lease of
 *   an attempt in doubt). On the last receive the queue allows (`maxReceives`, the redrive's 5)
 *   the worker dead-letters it itself with its reason (`ACTION_IN_DOUBT` when an action's
 *   outcome is unknown), rather than leave SQS's redrive to move it without one;
 * - a rate limit asking for longer than the client's in-process cap: deferred, not failed — the
 *   same message sent again with a delay (`MessageDeferral`) and the original reported done, so
 *   the wait uses no receive (bounded by `maxDeferrals`);
 * - permanent failure: sent to the DLQ at once with `failureReason`/`failureCode`, the event
 *   marked `failed`, and then reported as success (deleted from the events queue). If the DLQ
 *   send fails, it is reported as a failure instead (never dropped).
 *
 * Powertools' BatchProcessor does the same reporting but has no per-key concurrency limit and
 * no hook for dead-lettering with a reason, so this is its small equivalent.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createLimiter, type Limiter } from '../../async.ts';
import { MAX_RECEIVE_COUNT } from '../../dlq/contract.ts';
import { ACTION_IN_DOUBT } from '../../error-codes.ts';
import { type EventEnvelope, parseEnvelope } from '../../events/index.ts';
import { sanitizeError, scrubSecrets } from '../../observability/index.ts';
import type { Org, Rule } from '../../orgs/index.ts';
import { TallyfyRateLimitError } from '../../tallyfy/index.ts';
import { doubtsOfFailure } from '../engine.ts';
import { ActionBusyError, AUTOMATIONS_DEAD_LETTER_FAILED } from '../errors.ts';
import { classifyFailure, HttpPostError } from '../failures.ts';
import type {
  DeadLetterAttributes,
  DeadLetterSink,
  DeferredMessage,
  MessageDeferral,
  MessageVisibility,
} from './ports.ts';
import {
  failureCode,
  isPermanent,
  type ProcessEventDeps,
  type ProcessEventResult,
  processEvent,
} from './process-event.ts';
import { DEFERRALS_ATTRIBUTE, DEFERRED_UNTIL_ATTRIBUTE, MAX_DELAY_SECONDS } from './sqs.ts';

/** Metrics the worker records (names from the observability catalogue). */
export interface WorkerMetrics {
  record(
    name:
      | 'EventsProcessed'
      | 'EventsDuplicate'
      | 'EventsRetried'
      | 'EventsDeadLettered'
      | 'EventsDeferred'
      | 'ActionsSucceeded'
      | 'ActionsFailed'
      | 'ActionsInDoubt',
    value?: number,
  ): unknown;
}

/** Options and ports of {@link processBatch}. */
export interface WorkerDeps extends ProcessEventDeps {
  deadLetters: DeadLetterSink;
  visibility: MessageVisibility;
  metrics?: WorkerMetrics;
  /** Events of one org processed at once (bounds calls to Tallyfy per org). @default 2 */
  orgConcurrency?: number;
  /** Events processed at once in the whole batch. @default 10 */
  concurrency?: number;
  /** Visibility backoff: base · 2^(receives − 1), capped, ±20% jitter. */
  retry?: { baseSeconds?: number; maxSeconds?: number };
  /** In [0, 1), for jitter. @default Math.random */
  random?: () => number;
  /**
   * Receives of a message before SQS's redrive takes it (the queue's `maxReceiveCount`): a
   * transient failure on this receive is dead-lettered by the worker with its reason.
   * @default MAX_RECEIVE_COUNT (5)
   */
  maxReceives?: number;
  /**
   * Long rate-limit waits: a 429 whose `Retry-After` exceeds `thresholdMs` (the client's
   * in-process cap, `HTTP_RETRY_AFTER_CAP_SECONDS`) defers the message instead of failing it.
   * @default none: such a message goes back with its visibility set to the wait (a receive)
   */
  deferral?: {
    port: MessageDeferral;
    thresholdMs: number;
    /** Deferrals of one message (each ≤ 15 min, SQS's longest delay) before it fails as usual. @default 12 */
    maxDeferrals?: number;
  };
}

/** What happened to each record (tests and local mode read it). */
export interface RecordOutcome {
  messageId: string;
  eventId?: string;
  outcome: 'processed' | 'duplicate' | 'retry' | 'deferred' | 'dead_lettered';
  code?: string;
  result?: ProcessEventResult;
}

/** SQS's longest visibility timeout: 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Visibility timeout after a transient failure on the `receiveCount`-th receive.
 *
 * @example retryDelaySeconds(3, { baseSeconds: 10, maxSeconds: 900 }, () => 0.5) // 40
 */
export function retryDelaySeconds(
  receiveCount: number,
  policy: { baseSeconds: number; maxSeconds: number },
  random: () => number,
  retryAfterMs?: number,
): number {
  const exponent = Math.max(0, Math.min(20, receiveCount - 1));
  const backoff = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** exponent);
  const jittered = Math.round(backoff * (0.8 + 0.4 * random()));
  const floor = retryAfterMs === undefined ? 0 : Math.ceil(retryAfterMs / 1000);
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(jittered, floor, 0));
}

function memo<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (key) => {
    let value = cache.get(key);
    if (!value) {
      value = load(key);
      // the caller still gets the failure; only the cache forgets it, so the next call retries
      value.catch(() => cache.delete(key));
      cache.set(key, value);
    }
    return value;
  };
}

/**
 * Processes an SQS batch.
 *
 * @example export const handler = (event: SQSEvent) => processBatch(deps, event);
 */
export async function processBatch(
  deps: WorkerDeps,
  event: SQSEvent,
  outcomes?: RecordOutcome[],
): Promise<SQSBatchResponse> {
  const log = deps.logger;
  const total = createLimiter(deps.concurrency ?? 10);
  const perOrg = new Map<string, Limiter>();
  const limiterFor = (orgId: string) => {
    let limiter = perOrg.get(orgId);
    if (!limiter) {
      limiter = createLimiter(deps.orgConcurrency ?? 2);
      perOrg.set(orgId, limiter);
    }
    return limiter;
  };
  // one org read and one rules query per org per batch
  const getOrg = memo<Org | undefined>((id) => deps.registry.getOrg(id, { consistent: false }));
  const listRules = memo<Rule[]>((id) => deps.registry.listRules(id));
  const eventDeps: ProcessEventDeps = {
    ...deps,
    getOrg,
    listRules,
    onAction: (outcome) => {
      deps.onAction?.(outcome);
      if (outcome.outcome === 'failed') deps.metrics?.record('ActionsFailed');
      if (outcome.outcome === 'done') deps.metrics?.record('ActionsSucceeded');
      // attempts that settled an earlier attempt in doubt: found, redone, or marked done
      if (outcome.inDoubt === true && outcome.outcome !== 'failed') {
        deps.metrics?.record('ActionsInDoubt');
      }
    },
  };
  const policy = {
    baseSeconds: deps.retry?.baseSeconds ?? 10,
    maxSeconds: deps.retry?.maxSeconds ?? 900,
  };
  const random = deps.random ?? Math.random;
  const failures: { itemIdentifier: string }[] = [];

  const maxReceives = deps.maxReceives ?? MAX_RECEIVE_COUNT;

  /** Sends a record to the DLQ, marks its event failed; false when the letter was not stored. */
  const deadLetter = async (
    record: SQSRecord,
    envelope: EventEnvelope | undefined,
    letter: Pick<DeadLetterAttributes, 'failureCode' | 'failureReason' | 'actionsInDoubt'>,
    context: Record<string, unknown>,
  ): Promise<boolean> => {
    try {
      await deps.deadLetters.send(record.body, {
        ...letter,
        // the top-level message only: causes (a JSON parse error) may quote the payload
        failureReason: scrubSecrets(letter.failureReason).slice(0, 1000),
        ...(envelope ? { orgId: envelope.orgId, type: envelope.type, eventId: envelope.id } : {}),
        sourceMessageId: record.messageId,
        receiveCount: String(context.receiveCount),
        failedAt: new Date(deps.clock()).toISOString(),
      });
    } catch (dlqError) {
      log.error('could not dead-letter a failed event; it stays queued', {
        ...context,
        code: letter.failureCode,
        error: sanitizeError(dlqError),
      });
      failures.push({ itemIdentifier: record.messageId });
      outcomes?.push({
        messageId: record.messageId,
        outcome: 'retry',
        code: AUTOMATIONS_DEAD_LETTER_FAILED,
      });
      return false;
    }
    if (envelope) {
      await deps.registry.markEvent(envelope.id, 'failed').catch((markError: unknown) =>
        // the letter is stored: the claim stays `claimed` and a replay still runs it
        log.warn('could not mark a dead-lettered event failed', {
          ...context,
          error: sanitizeError(markError),
        }),
      );
    }
    deps.metrics?.record('EventsDeadLettered');
    outcomes?.push({
      messageId: record.messageId,
      ...(envelope ? { eventId: envelope.id } : {}),
      outcome: 'dead_lettered',
      code: letter.failureCode,
    });
    return true;
  };

  /**
   * Puts the record back on its queue as a new message due in `waitMs` (at most SQS's 15 min;
   * a longer wait is deferred again on arrival) and reports it done: no receive is used up.
   * False when it may not (no port, too many deferrals) or could not be stored.
   */
  const defer = async (
    record: SQSRecord,
    waitMs: number,
    context: Record<string, unknown>,
    code?: string,
  ): Promise<boolean> => {
    const deferral = deps.deferral;
    if (deferral === undefined) return false;
    const deferrals = numberAttribute(record, DEFERRALS_ATTRIBUTE) ?? 0;
    if (deferrals >= (deferral.maxDeferrals ?? 12)) return false;
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.ceil(waitMs / 1000));
    const deferredUntilMs = deps.clock() + waitMs;
    try {
      await deferral.port.defer(deferredMessage(record), {
        delaySeconds,
        deferrals: deferrals + 1,
        deferredUntilMs,
      });
    } catch (deferError) {
      log.warn('could not defer a rate-limited event; it goes back to the queue', {
        ...context,
        error: sanitizeError(deferError),
      });
      return false;
    }
    // a sign of life for the reconciler: this event waits on purpose, it is not lost work
    if (typeof context.eventId === 'string') {
      await deps.registry.touchEvent(context.eventId).catch((touchError: unknown) =>
        log.warn('could not record a deferred event as alive', {
          ...context,
          error: sanitizeError(touchError),
        }),
      );
    }
    deps.metrics?.record('EventsDeferred');
    outcomes?.push({
      messageId: record.messageId,
      ...(typeof context.eventId === 'string' ? { eventId: context.eventId } : {}),
      outcome: 'deferred',
      ...(code === undefined ? {} : { code }),
    });
    log.info('event deferred: Tallyfy asked to wait', {
      ...context,
      ...(code === undefined ? {} : { code }),
      delaySeconds,
      deferrals: deferrals + 1,
      until: new Date(deferredUntilMs).toISOString(),
    });
    return true;
  };

  const handle = async (
    record: SQSRecord,
    envelope: EventEnvelope | undefined,
    parseError: unknown,
  ) => {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1') || 1;
    const context = {
      messageId: record.messageId,
      eventId: envelope?.id,
      orgId: envelope?.orgId,
      receiveCount,
    };
    // a deferred message that arrives before its time (a wait over 15 min) waits on, untouched
    const until = numberAttribute(record, DEFERRED_UNTIL_ATTRIBUTE);
    if (envelope && until !== undefined && until - deps.clock() > 1000) {
      if (await defer(record, until - deps.clock(), context)) return;
    }
    try {
      if (envelope === undefined) throw parseError;
      const result = await processEvent(eventDeps, envelope);
      deps.metrics?.record(result.status === 'duplicate' ? 'EventsDuplicate' : 'EventsProcessed');
      outcomes?.push({
        messageId: record.messageId,
        eventId: envelope.id,
        outcome: result.status,
        result,
      });
      log.info(result.status === 'duplicate' ? 'event already processed' : 'event processed', {
        ...context,
        type: envelope.type,
        ...(result.status === 'processed' ? { rules: result.automations.matched } : {}),
      });
    } catch (error) {
      const code = failureCode(error);
      const safe = sanitizeError(error);
      const message = error instanceof Error ? error.message : String(error);
      const permanent = isPermanent(error);
      // Tallyfy asked for a longer wait than the client's in-process cap: wait without a receive
      const waitMs = permanent ? undefined : rateLimitWaitMs(error);
      if (envelope && waitMs !== undefined && waitMs > (deps.deferral?.thresholdMs ?? Infinity)) {
        if (await defer(record, waitMs, context, code)) return;
      }
      // the last receive the queue allows: dead-letter it with its reason rather than leave it
      // to the redrive (an attempt busy elsewhere is left alone: that attempt carries on)
      const giveUp =
        !permanent && receiveCount >= maxReceives && !(error instanceof ActionBusyError);
      if (permanent || giveUp) {
        const doubts = doubtsOfFailure(error);
        const letterCode = doubts.length > 0 ? ACTION_IN_DOUBT : code;
        const stored = await deadLetter(
          record,
          envelope,
          {
            failureCode: letterCode,
            failureReason: giveUp
              ? `not processed after ${receiveCount} receives (the last the queue allows): ${message}`
              : message,
            ...(doubts.length > 0 ? { actionsInDoubt: JSON.stringify(doubts) } : {}),
          },
          context,
        );
        if (stored) log.error('event dead-lettered', { ...context, code: letterCode, error: safe });
        return;
      }
      failures.push({ itemIdentifier: record.messageId });
      deps.metrics?.record('EventsRetried');
      outcomes?.push({
        messageId: record.messageId,
        ...(envelope ? { eventId: envelope.id } : {}),
        outcome: 'retry',
        code,
      });
      const delay = retryDelaySeconds(
        receiveCount,
        policy,
        random,
        classifyFailure(error).retryAfterMs,
      );
      log.warn('event will be retried', { ...context, code, delaySeconds: delay, error: safe });
      await deps.visibility
        .change(
          { receiptHandle: record.receiptHandle, eventSourceARN: record.eventSourceARN },
          delay,
        )
        .catch((visibilityError: unknown) =>
          // the message still comes back, after the queue's own visibility timeout
          log.warn('could not set the retry delay', {
            ...context,
            error: sanitizeError(visibilityError),
          }),
        );
    }
  };

  await Promise.all(
    event.Records.map((record) => {
      let envelope: EventEnvelope | undefined;
      let parseError: unknown;
      try {
        envelope = parseEnvelope(record.body);
      } catch (error) {
        parseError = error;
      }
      const orgKey = envelope?.orgId ?? record.messageAttributes?.orgId?.stringValue ?? '';
      return total(() => limiterFor(orgKey)(() => handle(record, envelope, parseError)));
    }),
  );
  return { batchItemFailures: failures };
}

/** A numeric message attribute of a record, when present and a finite number. */
function numberAttribute(record: SQSRecord, name: string): number | undefined {
  const value = Number(record.messageAttributes?.[name]?.stringValue);
  return record.messageAttributes?.[name] !== undefined && Number.isFinite(value)
    ? value
    : undefined;
}

/** What the deferral re-sends: the body and the String/Number attributes, as received. */
function deferredMessage(record: SQSRecord): DeferredMessage {
  const attributes: Record<string, { dataType: string; stringValue: string }> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (name === DEFERRALS_ATTRIBUTE || name === DEFERRED_UNTIL_ATTRIBUTE) continue;
    if (value.stringValue !== undefined) {
      attributes[name] = { dataType: value.dataType, stringValue: value.stringValue };
    }
  }
  return {
    body: record.body,
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    eventSourceARN: record.eventSourceARN,
    attributes,
  };
}

/**
 * The full wait a rate limit asked for (Tallyfy's 429, or an `http_post` receiver's), from the
 * failure or its cause; `undefined` for anything else.
 */
function rateLimitWaitMs(error: unknown): number | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 3; depth++) {
    if (e instanceof TallyfyRateLimitError) return e.retryAfterMs;
    if (e instanceof HttpPostError && e.status === 429) return e.retryAfterMs;
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}
