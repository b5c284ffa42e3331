/**
 * The worker's batch: SQS records → {@link processEvent} with bounded concurrency (per org and
 * in total) → `{ batchItemFailures }`.
 *
 * - success (or duplicate): not reported, SQS deletes it;
 * - transient failure: reported in `batchItemFailures`, and its visibility set to a backoff
 *   that grows with `ApproximateReceiveCount` (at least Tallyfy's Retry-After); after the
 *   queue's maxReceiveCount (5) SQS's redrive moves it to the DLQ;
 * - permanent failure: sent to the DLQ at once with `failureReason`/`failureCode`, the event
 *   marked `failed`, and then reported as success (deleted from the events queue). If the DLQ
 *   send fails, it is reported as a failure instead (never dropped).
 *
 * Powertools' BatchProcessor does the same reporting but has no per-key concurrency limit and
 * no hook for dead-lettering with a reason, so this is its small equivalent.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createLimiter, type Limiter } from '../../async.ts';
import { type EventEnvelope, parseEnvelope } from '../../events/index.ts';
import { sanitizeError, scrubSecrets } from '../../observability/index.ts';
import type { Org, Rule } from '../../orgs/index.ts';
import { AUTOMATIONS_DEAD_LETTER_FAILED } from '../errors.ts';
import { classifyFailure } from '../failures.ts';
import type { DeadLetterSink, MessageVisibility } from './ports.ts';
import {
  failureCode,
  isPermanent,
  type ProcessEventDeps,
  type ProcessEventResult,
  processEvent,
} from './process-event.ts';

/** Metrics the worker records (names from the observability catalogue). */
export interface WorkerMetrics {
  record(
    name:
      | 'EventsProcessed'
      | 'EventsDuplicate'
      | 'EventsRetried'
      | 'EventsDeadLettered'
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
}

/** What happened to each record (tests and local mode read it). */
export interface RecordOutcome {
  messageId: string;
  eventId?: string;
  outcome: 'processed' | 'duplicate' | 'retry' | 'dead_lettered';
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
      else if (outcome.outcome === 'skipped_in_doubt' || outcome.outcome === 'recovered') {
        deps.metrics?.record('ActionsInDoubt');
      } else if (outcome.outcome === 'done') deps.metrics?.record('ActionsSucceeded');
    },
  };
  const policy = {
    baseSeconds: deps.retry?.baseSeconds ?? 10,
    maxSeconds: deps.retry?.maxSeconds ?? 900,
  };
  const random = deps.random ?? Math.random;
  const failures: { itemIdentifier: string }[] = [];

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
      if (isPermanent(error)) {
        try {
          await deps.deadLetters.send(record.body, {
            // the top-level message only: causes (a JSON parse error) may quote the payload
            failureReason: scrubSecrets(
              error instanceof Error ? error.message : String(error),
            ).slice(0, 1000),
            failureCode: code,
            ...(envelope
              ? { orgId: envelope.orgId, type: envelope.type, eventId: envelope.id }
              : {}),
            sourceMessageId: record.messageId,
            receiveCount: String(receiveCount),
            failedAt: new Date(deps.clock()).toISOString(),
          });
        } catch (dlqError) {
          log.error('could not dead-letter a failed event; it stays queued', {
            ...context,
            code,
            error: sanitizeError(dlqError),
          });
          failures.push({ itemIdentifier: record.messageId });
          outcomes?.push({
            messageId: record.messageId,
            outcome: 'retry',
            code: AUTOMATIONS_DEAD_LETTER_FAILED,
          });
          return;
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
          code,
        });
        log.error('event dead-lettered', { ...context, code, error: safe });
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
