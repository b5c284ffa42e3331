/**
 * "Seen" markers: which events have reached our queue, by dedupe key. The worker's dedupe claim
 * (`EVENT#<key>` / `EVENT`) is written only when a worker picks the message up, so an event
 * that the receiver queued a moment ago, or that waits behind a backlog, has no claim yet. The
 * receiver (through {@link markSeenAfterSend}) and the reconciler write a marker as soon as the
 * queue has stored the event; the reconciler treats an event with a marker or a claim as
 * delivered, so it neither enqueues nor counts it again.
 *
 * Items live in the orgs table beside the dedupe record: `pk = EVENT#<dedupeKey>`,
 * `sk = SEEN`, with `orgId`, `origin`, `seenAt` and the TTL attribute `expiresAt` (epoch s).
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { createGroupCommit } from '../async.ts';
import type { EventEnvelope, EventQueue } from '../events/index.ts';
import { QueueSendError } from '../events/index.ts';
import type { EventOrigin } from '../orgs/index.ts';
import { ReconcileStoreError } from './errors.ts';

/** One marker to write. */
export interface SeenMark {
  dedupeKey: string;
  orgId: string;
  origin: EventOrigin;
  /** How often the reconciler re-enqueued the event because it had no outcome (rescues). */
  rescues?: number;
}

/** What the table knows of one event: when it reached the queue, and what the worker made of it. */
export interface EventTrace {
  /** The seen marker: the event is (or was) in the queue. */
  marker?: { seenAt: string; origin: string; rescues: number };
  /**
   * The worker's dedupe claim: `claimed` while it is being worked on (or its handling was lost),
   * `done` (processed) or `failed` (dead-lettered): the event's outcome. `updatedAt` moves when
   * the worker marks it (a deferral of a rate-limited event marks it too: a sign of life).
   */
  claim?: { status: string; firstSeenAt: string; updatedAt: string };
}

/** The seen-marker port. */
export interface SeenEvents {
  /** Records that these events are in the queue (idempotent). @throws ReconcileStoreError */
  markSeen(marks: readonly SeenMark[]): Promise<void>;
  /** The keys among `dedupeKeys` that have a live marker. @throws ReconcileStoreError */
  findSeen(dedupeKeys: readonly string[]): Promise<Set<string>>;
  /**
   * Marker and claim of each key that has either (live ones only), read together: what the
   * reconciler needs to tell a lost webhook (neither) from lost work (no outcome) from a settled
   * event (`done`/`failed`). @throws ReconcileStoreError
   */
  trace(dedupeKeys: readonly string[]): Promise<Map<string, EventTrace>>;
}

/** Options of {@link createDynamoSeenEvents}. */
export interface DynamoSeenEventsOptions {
  client: DynamoDBDocumentClient;
  /** The orgs table (ORGS_TABLE). */
  tableName: string;
  /** Epoch ms. */
  clock: () => number;
  /** How long a marker lives; at least as long as the reconciler looks back. @default 7 days */
  ttlSeconds?: number;
  /** Rounds of retrying unprocessed batch items before failing. @default 5 */
  maxBatchRetries?: number;
}

const SEEN_SK = 'SEEN';
const CLAIM_SK = 'EVENT';
const EVENT_PREFIX = 'EVENT#';
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;

const seenKey = (dedupeKey: string) => ({ pk: `${EVENT_PREFIX}${dedupeKey}`, sk: SEEN_SK });

/**
 * Seen markers on DynamoDB (the orgs table). Writes are one PutItem for one marker and
 * BatchWriteItem otherwise; reads are strongly consistent BatchGetItem, 100 keys per call.
 *
 * @example
 * const seen = createDynamoSeenEvents({ client: document, tableName, clock: Date.now });
 * await seen.markSeen([{ dedupeKey: envelope.id, orgId, origin: 'webhook' }]);
 * (await seen.findSeen([envelope.id])).has(envelope.id); // true
 */
export function createDynamoSeenEvents(options: DynamoSeenEventsOptions): SeenEvents {
  const { client, tableName, clock } = options;
  const ttlSeconds = options.ttlSeconds ?? 7 * 86_400;
  const maxRetries = options.maxBatchRetries ?? 5;
  const nowSeconds = () => Math.floor(clock() / 1000);

  const item = (mark: SeenMark) => ({
    ...seenKey(mark.dedupeKey),
    dedupeKey: mark.dedupeKey,
    orgId: mark.orgId,
    origin: mark.origin,
    seenAt: new Date(clock()).toISOString(),
    ...(mark.rescues === undefined ? {} : { rescues: mark.rescues }),
    expiresAt: nowSeconds() + ttlSeconds,
  });

  /** BatchGetItem of `keys` (≤ 100), retrying unprocessed keys; the live items. */
  const batchGet = async (operation: string, keys: Record<string, unknown>[]) => {
    const items: Record<string, unknown>[] = [];
    let pending: Record<string, unknown>[] | undefined = keys;
    for (let round = 0; pending !== undefined && pending.length > 0; round++) {
      if (round > maxRetries) {
        throw new ReconcileStoreError(operation, `${pending.length} keys left unprocessed`);
      }
      const out = await client.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      // DynamoDB deletes expired items lazily: an expired item counts as absent
      for (const row of out.Responses?.[tableName] ?? []) {
        if (typeof row.expiresAt === 'number' && row.expiresAt >= nowSeconds()) items.push(row);
      }
      pending = out.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined;
    }
    return items;
  };

  return {
    async markSeen(marks) {
      if (marks.length === 0) return;
      try {
        if (marks.length === 1) {
          await client.send(
            new PutCommand({ TableName: tableName, Item: item(marks[0] as SeenMark) }),
          );
          return;
        }
        // one marker per key: a batch may not name one item twice
        const unique = [...new Map(marks.map((m) => [m.dedupeKey, m])).values()];
        for (let i = 0; i < unique.length; i += BATCH_WRITE_MAX) {
          let requests: Record<string, unknown>[] | undefined = unique
            .slice(i, i + BATCH_WRITE_MAX)
            .map((mark) => ({ PutRequest: { Item: item(mark) } }));
          for (let round = 0; requests !== undefined && requests.length > 0; round++) {
            if (round > maxRetries) {
              throw new ReconcileStoreError(
                'markSeen',
                `${requests.length} markers left unprocessed`,
              );
            }
            const out = await client.send(
              new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
            );
            requests = out.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined;
          }
        }
      } catch (error) {
        if (error instanceof ReconcileStoreError) throw error;
        throw new ReconcileStoreError('markSeen', error);
      }
    },

    async findSeen(dedupeKeys) {
      const found = new Set<string>();
      const unique = [...new Set(dedupeKeys)];
      try {
        for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
          const rows = await batchGet('findSeen', unique.slice(i, i + BATCH_GET_MAX).map(seenKey));
          for (const row of rows) found.add(String(row.dedupeKey));
        }
      } catch (error) {
        if (error instanceof ReconcileStoreError) throw error;
        throw new ReconcileStoreError('findSeen', error);
      }
      return found;
    },

    async trace(dedupeKeys) {
      const traces = new Map<string, EventTrace>();
      const unique = [...new Set(dedupeKeys)];
      // marker and claim of a key share its partition: one BatchGetItem reads both
      const keys = unique.flatMap((key) => [
        seenKey(key),
        { pk: `${EVENT_PREFIX}${key}`, sk: CLAIM_SK },
      ]);
      try {
        for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
          for (const row of await batchGet('trace', keys.slice(i, i + BATCH_GET_MAX))) {
            const key = String(row.pk).slice(EVENT_PREFIX.length);
            const trace = traces.get(key) ?? {};
            if (row.sk === SEEN_SK) {
              trace.marker = {
                seenAt: String(row.seenAt),
                origin: String(row.origin),
                rescues: typeof row.rescues === 'number' ? row.rescues : 0,
              };
            } else {
              trace.claim = {
                status: String(row.status),
                firstSeenAt: String(row.firstSeenAt),
                updatedAt: String(row.updatedAt ?? row.firstSeenAt),
              };
            }
            traces.set(key, trace);
          }
        }
      } catch (error) {
        if (error instanceof ReconcileStoreError) throw error;
        throw new ReconcileStoreError('trace', error);
      }
      return traces;
    },
  };
}

/** Options of {@link markSeenAfterSend}. */
export interface MarkSeenAfterSendOptions {
  /**
   * Called when the queue stored the event but the marker could not be written. The event is
   * queued (the send still resolves); the reconciler may enqueue it once more (the worker's
   * dedupe drops it) and count it as recovered. Log it.
   */
  onMarkError?: (error: unknown, eventIds: readonly string[]) => void;
  /**
   * Group commit of the markers of {@link EventQueue.send}: markers that wait while
   * `maxInFlight` writes are in flight go together in one BatchWriteItem (up to 25); a marker
   * that finds a free slot is written at once as a PutItem (so one request at a time, as in a
   * Lambda container, is a PutItem each). Each send still resolves only after its marker's
   * write ended. @default undefined (one write per send)
   */
  groupCommit?: { maxInFlight: number } | undefined;
}

/**
 * Wraps an {@link EventQueue} so that every envelope the queue stored gets a seen marker right
 * after, with the envelope's origin. The marker is written only after the send succeeded: a
 * marker for an event that never reached the queue would hide a lost event from the reconciler.
 * This is how the receiver records what it queued (wrap its queue in `index.ts`).
 *
 * @example
 * const queue = markSeenAfterSend(createSqsEventQueue({ client: sqs, queueUrl }), seen, {
 *   onMarkError: (error, ids) => logger.error('seen marker not written', { error, ids }),
 * });
 */
export function markSeenAfterSend(
  queue: EventQueue,
  seen: Pick<SeenEvents, 'markSeen'>,
  options: MarkSeenAfterSendOptions = {},
): EventQueue & { sendBatch(envelopes: readonly EventEnvelope[]): Promise<void> } {
  const markOf = (e: EventEnvelope): SeenMark => ({
    dedupeKey: e.id,
    orgId: e.orgId,
    origin: e.origin,
  });
  const mark = async (envelopes: readonly EventEnvelope[]) => {
    if (envelopes.length === 0) return;
    try {
      await seen.markSeen(envelopes.map(markOf));
    } catch (error) {
      options.onMarkError?.(
        error,
        envelopes.map((e) => e.id),
      );
    }
  };
  // markers of sends waiting together share one write
  const markGroup =
    options.groupCommit === undefined
      ? undefined
      : createGroupCommit<SeenMark>({
          maxItems: BATCH_WRITE_MAX,
          maxInFlight: options.groupCommit.maxInFlight,
          async commit(marks) {
            await seen.markSeen(marks);
            return undefined;
          },
        });
  const markOne = async (envelope: EventEnvelope) => {
    if (markGroup === undefined) return mark([envelope]);
    try {
      await markGroup(markOf(envelope));
    } catch (error) {
      options.onMarkError?.(error, [envelope.id]);
    }
  };
  return {
    async send(envelope) {
      await queue.send(envelope);
      await markOne(envelope);
    },
    async sendBatch(envelopes) {
      if (queue.sendBatch === undefined) {
        for (const envelope of envelopes) {
          await queue.send(envelope);
          await mark([envelope]);
        }
        return;
      }
      try {
        await queue.sendBatch(envelopes);
      } catch (error) {
        if (error instanceof QueueSendError) {
          const failed = new Set(error.failedIds);
          await mark(envelopes.filter((e) => !failed.has(e.id)));
        }
        throw error;
      }
      await mark(envelopes);
    },
  };
}
