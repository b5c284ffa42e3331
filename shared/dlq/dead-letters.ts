/**
 * Dead-letter inspection and redrive over the SQS API (the CLI's `dlq list` / `dlq replay`).
 * Listing receives letters with a visibility timeout and hands them back (visibility 0) when
 * done; replay re-sends the original envelope with `origin: "replay"` to the events queue and
 * deletes the letter only after that send succeeded.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { ACTION_IN_DOUBT } from '../error-codes.ts';
import {
  type EventEnvelope,
  envelopeMessageAttributes,
  parseEnvelope,
  serializeEnvelope,
} from '../events/index.ts';
import {
  DEAD_LETTER_ATTRIBUTES,
  FAILURE_CODE_MISSING,
  MAX_RECEIVE_COUNT,
  MAX_RECEIVES_EXCEEDED,
} from './contract.ts';
import { type DeadLetterFilter, matchesDeadLetter } from './filter.ts';
import type { ReplayPacer } from './pacing.ts';

/** One letter as listed. */
export interface DeadLetter {
  /** The message id in the DLQ (what `replay` takes). */
  messageId: string;
  /** The envelope id (dedupe key) when the body is an envelope. */
  eventId?: string | undefined;
  orgId?: string | undefined;
  type?: string | undefined;
  /** The envelope's origin as it failed (`webhook`, `reconciler`, `replay`). */
  origin?: string | undefined;
  /** `worker`: a permanent failure the worker sent; `redrive`: SQS moved it after maxReceiveCount. */
  kind: 'worker' | 'redrive';
  /** `failureCode`, or `DLQ_MAX_RECEIVES_EXCEEDED` for redrive letters. */
  code: string;
  reason: string;
  /**
   * Receives on the events queue: the worker's `receiveCount`; for redrive letters the queue's
   * `maxReceiveCount` (SQS moves a message on the receive after it: its own
   * ApproximateReceiveCount also counts every inspection of the DLQ, so it is not used).
   */
  receiveCount: number;
  /** ISO: when the letter was sent (SentTimestamp). */
  sentAt?: string | undefined;
  failedAt?: string | undefined;
  /** `false` when the body is not an event envelope: such a letter cannot be replayed. */
  replayable: boolean;
  /** Why the body is not an envelope (the schema checks, never the payload). */
  invalidBody?: string | undefined;
  /**
   * `ACTION_IN_DOUBT` letters: the actions whose outcome is unknown, with the marker their
   * effect carries (look for it in Tallyfy before choosing `retry_action` or `mark_done`).
   */
  actionsInDoubt?: InDoubtAction[] | undefined;
  /** The message body, when asked for with `bodies` (within its byte budget). */
  body?: string | undefined;
}

/** An action a letter left in doubt (the worker's `actionsInDoubt` attribute). */
export interface InDoubtAction {
  ruleId: string;
  actionIndex: number;
  type: string;
  marker: string;
}

const inDoubtActionsSchema = z.lazy(() =>
  z
    .array(
      z.object({
        ruleId: z.string().min(1),
        actionIndex: z.number().int().min(0),
        type: z.string(),
        marker: z.string(),
      }),
    )
    .min(1),
);

/** Options shared by listing and replay. */
export interface DeadLetterOptions {
  /** A client created once per process. */
  client: SQSClient;
  /** The dead-letter queue (stack output `DeadLetterQueueUrl`, `EVENTS_DLQ_URL`). */
  deadLetterQueueUrl: string;
  /** Most letters looked at in one call. @default 1000 */
  max?: number;
  /**
   * How long letters stay hidden from others while this call looks at them; they are handed
   * back (visibility 0) at the end. Longer than the call takes. @default 60
   */
  visibilityTimeoutSeconds?: number;
  /**
   * Long-poll wait of each receive: SQS short polls sample a subset of servers and may answer
   * empty while letters exist; a wait of 1 s or more asks every server. @default 1
   */
  waitTimeSeconds?: number;
  /** Only letters this filter means (applied after receiving: SQS cannot filter). */
  filter?: DeadLetterFilter | undefined;
  /**
   * How many letters are visible ({@link countDeadLetters}): once that many are held, the
   * remaining receives do not long-poll, so the sweep's last (empty) receive answers at once
   * instead of after `waitTimeSeconds`. A stale count only costs that wait, or leaves letters
   * that arrived since for the next sweep.
   */
  expectedVisible?: number | undefined;
}

interface Held {
  message: Message;
  letter: DeadLetter;
  envelope?: EventEnvelope;
  /** Epoch ms until which this call holds the letter (its visibility timeout). */
  heldUntil: number;
}

/**
 * Lists the letters with their reasons, oldest first as SQS hands them out. Nothing is
 * deleted; every letter is visible again when this resolves (or, if handing one back failed,
 * once `visibilityTimeoutSeconds` has passed).
 *
 * @example
 * const letters = await listDeadLetters({ client: sqs, deadLetterQueueUrl });
 * // [{ messageId, eventId: 'task.completed:t1:…', kind: 'worker', code: 'TALLYFY_NOT_FOUND', reason: '…' }]
 */
export async function listDeadLetters(
  options: DeadLetterOptions & {
    /**
     * Keep message bodies, up to this many bytes in all (later letters come without `body`):
     * the console shows a letter's envelope without another sweep. @default 0 (no bodies)
     */
    bodyBudgetBytes?: number;
  },
): Promise<DeadLetter[]> {
  const held = await receiveAll(options);
  await release(options, held);
  let budget = options.bodyBudgetBytes ?? 0;
  const letters: DeadLetter[] = [];
  for (const { letter, message } of held) {
    if (options.filter !== undefined && !matchesDeadLetter(letter, options.filter)) continue;
    const body = message.Body ?? '';
    if (budget > 0 && Buffer.byteLength(body) <= budget) {
      budget -= Buffer.byteLength(body);
      letters.push({ ...letter, body });
    } else letters.push(letter);
  }
  return letters;
}

/**
 * One letter with its body, by DLQ message id or event id (a sweep of the DLQ, handed back
 * at once); `undefined` when it is not there.
 */
export async function getDeadLetter(
  options: DeadLetterOptions,
  id: string,
): Promise<DeadLetter | undefined> {
  const held = await receiveAll(options);
  await release(options, held);
  const found = held.find((h) => h.letter.messageId === id || h.letter.eventId === id);
  return found === undefined ? undefined : { ...found.letter, body: found.message.Body ?? '' };
}

/**
 * SQS's approximate counts: letters visible now, and letters held by someone (in flight).
 * Eventually consistent in AWS (about a minute); exact in the local engine.
 */
export async function countDeadLetters(
  options: Pick<DeadLetterOptions, 'client' | 'deadLetterQueueUrl'>,
): Promise<{ visible: number; inFlight: number }> {
  const out = await options.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: options.deadLetterQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const attributes = out.Attributes ?? {};
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** What {@link replayDeadLetters} did. */
export interface ReplayResult {
  /** Re-sent to the events queue (origin `replay`) and deleted from the DLQ. */
  replayed: { messageId: string; eventId: string }[];
  /**
   * Re-sent but the delete failed: the letter is still in the DLQ and a later replay sends it
   * again (the worker's dedupe and action records keep that harmless).
   */
  notDeleted: { messageId: string; eventId: string; error: string }[];
  /** The send failed: the letter stays in the DLQ, untouched. */
  failed: { messageId: string; error: string }[];
  /** Not replayable (the body is not an envelope): left in the DLQ. */
  skipped: { messageId: string; reason: string }[];
  /** Ids asked for that were not found among the letters. */
  notFound: string[];
}

/**
 * What replaying a letter means; the per-letter seam the CLI and the console share.
 * - `resend` (default): the original envelope again (origin `replay`). For an `ACTION_IN_DOUBT`
 *   letter the worker looks for the actions' effects once more.
 * - `retry_action`: as `resend`, and the operator's decision on the letter's actions in doubt
 *   travels with it: sent again unless a look finds their effect.
 * - `mark_done`: the actions in doubt are recorded done without being sent (the operator found
 *   their effect); the rest of the event runs as usual.
 * `retry_action` and `mark_done` apply to `ACTION_IN_DOUBT` letters; other letters are resent.
 */
export type ReplayResolution = 'resend' | 'retry_action' | 'mark_done';

/** Options of {@link replayDeadLetters}. */
export interface ReplayOptions extends DeadLetterOptions {
  /** The events queue (`EVENTS_QUEUE_URL`, stack output `EventsQueueUrl`). */
  eventsQueueUrl: string;
  /**
   * `'all'` (every letter the filter means), or letter ids: DLQ message ids or envelope ids
   * (event ids), further narrowed by `filter` when both are given.
   */
  ids: 'all' | readonly string[];
  /** @default 'resend' */
  resolution?: ReplayResolution;
  /**
   * Spaces the re-sends of each org (`createReplayPacer`), so a replay never sends an org's
   * events faster than its Tallyfy budget. @default none: as fast as SQS takes them
   */
  pacer?: ReplayPacer;
  /** Called after each letter with the result so far (for progress and records). */
  onProgress?: (result: ReplayResult) => void | Promise<void>;
  /** Epoch ms, for the hold heartbeat. @default Date.now */
  clock?: () => number;
}

/** What replaying one letter means (see {@link ReplayResolution}). */
type ReplayPlan = { kind: 'resend'; envelope: EventEnvelope } | { kind: 'skip'; reason: string };

function planReplay(item: Held, resolution: ReplayResolution): ReplayPlan {
  if (item.envelope === undefined) {
    return {
      kind: 'skip',
      reason: `not an event envelope: ${item.letter.invalidBody ?? 'unreadable body'}`,
    };
  }
  const { resolution: _earlier, ...envelope } = item.envelope;
  const doubts = item.letter.actionsInDoubt;
  if (resolution === 'resend' || doubts === undefined) {
    return { kind: 'resend', envelope: { ...envelope, origin: 'replay' } };
  }
  return {
    kind: 'resend',
    envelope: {
      ...envelope,
      origin: 'replay',
      resolution: {
        as: resolution === 'mark_done' ? 'done' : 'retry',
        actions: doubts.map((d) => ({ ruleId: d.ruleId, actionIndex: d.actionIndex })),
      },
    },
  };
}

/**
 * Replays letters: for each, the original envelope with `origin: "replay"` (same id, so the
 * worker's dedupe and action records still keep each side effect single) is sent to the events
 * queue, and only when that send succeeded is the letter deleted. Letters not replayed are
 * handed back to the DLQ untouched.
 *
 * With a `pacer`, each org's letters go at its pace (orgs in parallel, each org in order); the
 * letters waiting their turn stay held, their visibility extended before it runs out, and the
 * letters not selected are handed back at once.
 *
 * @example
 * const result = await replayDeadLetters({ client: sqs, deadLetterQueueUrl, eventsQueueUrl, ids: ['0b7c…'] });
 * result.replayed; // [{ messageId: '0b7c…', eventId: 'task.completed:t1:…' }]
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const wanted = options.ids === 'all' ? undefined : new Set(options.ids);
  const held = await receiveAll(options);
  const result: ReplayResult = {
    replayed: [],
    notDeleted: [],
    failed: [],
    skipped: [],
    notFound: [],
  };
  const keep: Held[] = [];
  const selected: Held[] = [];
  const matched = new Set<string>();
  for (const item of held) {
    const { letter } = item;
    const hit =
      (wanted === undefined ||
        wanted.has(letter.messageId) ||
        (letter.eventId !== undefined && wanted.has(letter.eventId))) &&
      (options.filter === undefined || matchesDeadLetter(letter, options.filter));
    if (!hit) {
      keep.push(item);
      continue;
    }
    matched.add(letter.messageId);
    if (letter.eventId !== undefined) matched.add(letter.eventId);
    selected.push(item);
  }
  if (wanted !== undefined) result.notFound = [...wanted].filter((id) => !matched.has(id));
  // letters not asked for go back now, not after a long paced replay
  await release(options, keep);
  keep.length = 0;

  const lanes = new Map<string, Held[]>();
  for (const item of selected) {
    const org = item.letter.orgId ?? '';
    let lane = lanes.get(org);
    if (lane === undefined) {
      lane = [];
      lanes.set(org, lane);
    }
    lane.push(item);
  }
  await Promise.all(
    [...lanes.entries()].map(([orgId, lane]) => replayLane(options, orgId, lane, result, keep)),
  );
  await release(options, keep);
  return result;
}

/** One org's letters, in order, at the pacer's pace. */
async function replayLane(
  options: ReplayOptions,
  orgId: string,
  lane: Held[],
  result: ReplayResult,
  keep: Held[],
): Promise<void> {
  const { client } = options;
  const clock = options.clock ?? Date.now;
  for (const [index, item] of lane.entries()) {
    const { letter } = item;
    const plan = planReplay(item, options.resolution ?? 'resend');
    if (plan.kind === 'skip') {
      result.skipped.push({ messageId: letter.messageId, reason: plan.reason });
      keep.push(item);
      await options.onProgress?.(result);
      continue;
    }
    await options.pacer?.wait(orgId);
    await extendHolds(options, lane.slice(index), clock());
    const replay = plan.envelope;
    try {
      await client.send(
        new SendMessageCommand({
          QueueUrl: options.eventsQueueUrl,
          MessageBody: serializeEnvelope(replay),
          MessageAttributes: {
            ...envelopeMessageAttributes(replay),
            replayOf: { DataType: 'String', StringValue: letter.messageId },
          },
        }),
      );
    } catch (error) {
      result.failed.push({ messageId: letter.messageId, error: describe(error) });
      keep.push(item);
      await options.onProgress?.(result);
      continue;
    }
    // the copy is in the events queue: only now may the letter go
    try {
      await client.send(
        new DeleteMessageCommand({
          QueueUrl: options.deadLetterQueueUrl,
          ReceiptHandle: item.message.ReceiptHandle,
        }),
      );
      result.replayed.push({ messageId: letter.messageId, eventId: replay.id });
    } catch (error) {
      result.notDeleted.push({
        messageId: letter.messageId,
        eventId: replay.id,
        error: describe(error),
      });
      keep.push(item);
    }
    await options.onProgress?.(result);
  }
}

/**
 * Extends the hold of the letters still waiting in a lane when the next one's would end
 * within half a visibility timeout, so a long paced replay never lets them reappear (and be
 * taken by someone else) half-way.
 */
async function extendHolds(options: ReplayOptions, waiting: Held[], nowMs: number): Promise<void> {
  const timeoutSeconds = options.visibilityTimeoutSeconds ?? 60;
  const next = waiting[0];
  if (next === undefined || next.heldUntil - nowMs > (timeoutSeconds * 1000) / 2) return;
  for (let i = 0; i < waiting.length; i += 10) {
    const chunk = waiting.slice(i, i + 10);
    const out = await options.client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: options.deadLetterQueueUrl,
        Entries: chunk.map((h, index) => ({
          Id: String(index),
          ReceiptHandle: h.message.ReceiptHandle,
          VisibilityTimeout: timeoutSeconds,
        })),
      }),
    );
    const failed = new Set((out.Failed ?? []).map((f) => f.Id));
    chunk.forEach((h, index) => {
      if (!failed.has(String(index))) h.heldUntil = nowMs + timeoutSeconds * 1000;
    });
  }
}

/** Receives letters until the DLQ answers empty or `max` is reached. */
async function receiveAll(options: DeadLetterOptions & { clock?: () => number }): Promise<Held[]> {
  const max = options.max ?? 1000;
  const visibility = options.visibilityTimeoutSeconds ?? 60;
  const held: Held[] = [];
  const seen = new Set<string>();
  while (held.length < max) {
    const out = await options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, max - held.length),
        VisibilityTimeout: visibility,
        WaitTimeSeconds:
          held.length >= (options.expectedVisible ?? Number.POSITIVE_INFINITY)
            ? 0
            : (options.waitTimeSeconds ?? 1),
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId ?? ''));
    if (messages.length === 0) break;
    const heldUntil = (options.clock ?? Date.now)() + visibility * 1000;
    for (const message of messages) {
      seen.add(message.MessageId ?? '');
      held.push({ ...readLetter(message), heldUntil });
    }
  }
  return held;
}

/** Makes letters visible again at once (best effort: otherwise they reappear after the timeout). */
async function release(options: DeadLetterOptions, held: readonly Held[]): Promise<void> {
  for (let i = 0; i < held.length; i += 10) {
    const chunk = held.slice(i, i + 10);
    await options.client
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: options.deadLetterQueueUrl,
          Entries: chunk.map((h, index) => ({
            Id: String(index),
            ReceiptHandle: h.message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      )
      // silence is right: a letter not handed back reappears by itself when the visibility
      // timeout (`visibilityTimeoutSeconds`) ends; nothing is lost, only delayed
      .catch(() => undefined);
  }
}

function readLetter(message: Message): Omit<Held, 'heldUntil'> {
  const attrs = message.MessageAttributes ?? {};
  const text = (name: string) => attrs[name]?.StringValue;
  const system = message.Attributes ?? {};
  const workerCode = text(DEAD_LETTER_ATTRIBUTES.failureCode);
  const workerReason = text(DEAD_LETTER_ATTRIBUTES.failureReason);
  const kind = workerCode !== undefined || workerReason !== undefined ? 'worker' : 'redrive';
  const recorded = Number(text(DEAD_LETTER_ATTRIBUTES.receiveCount));
  // a redrive happens on the receive after the queue's maxReceiveCount; the DLQ's own count
  // also grows with every inspection (the first listing would say 6), so it is not used
  const receiveCount =
    kind === 'worker' && Number.isFinite(recorded) && recorded > 0 ? recorded : MAX_RECEIVE_COUNT;
  const doubts = inDoubtActionsSchema.safeParse(
    parseJson(text(DEAD_LETTER_ATTRIBUTES.actionsInDoubt)),
  );
  const sentMs = Number(system.SentTimestamp);
  let envelope: EventEnvelope | undefined;
  let invalidBody: string | undefined;
  try {
    envelope = parseEnvelope(message.Body ?? '');
  } catch (error) {
    invalidBody = error instanceof Error ? error.message : String(error);
  }
  const letter: DeadLetter = {
    messageId: message.MessageId ?? '',
    eventId: envelope?.id,
    orgId: envelope?.orgId ?? text('orgId'),
    type: envelope?.type ?? text('type'),
    origin: envelope?.origin,
    kind,
    code: kind === 'worker' ? (workerCode ?? FAILURE_CODE_MISSING) : MAX_RECEIVES_EXCEEDED,
    reason:
      kind === 'worker'
        ? (workerReason ?? 'no reason recorded')
        : `not processed after ${receiveCount} receives (redrive policy maxReceiveCount)${
            system.DeadLetterQueueSourceArn ? ` from ${system.DeadLetterQueueSourceArn}` : ''
          }`,
    receiveCount,
    sentAt: Number.isFinite(sentMs) && sentMs > 0 ? new Date(sentMs).toISOString() : undefined,
    failedAt: text(DEAD_LETTER_ATTRIBUTES.failedAt),
    replayable: envelope !== undefined,
    invalidBody,
    ...(workerCode === ACTION_IN_DOUBT && doubts.success ? { actionsInDoubt: doubts.data } : {}),
  };
  return envelope === undefined ? { message, letter } : { message, letter, envelope };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // a malformed attribute reads as absent: the letter is still listed and resendable
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
