/**
 * The event envelope (ARCHITECTURE.md "Event envelope"): the SQS message body between the
 * receiver / reconciler and the worker, and the EventBridge detail the worker publishes.
 * CloudEvents-style; `id` is the dedupe key, so the same Tallyfy event gets the same id whether
 * it came by template hook, org watcher, reconciler or replay.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { type EventOrigin, EventOriginSchema, OrgIdSchema } from '../orgs/index.ts';
import { EnvelopeInvalidError } from './errors.ts';

/** Event types we name; anything else Tallyfy sends travels as `unknown`. */
export const EVENT_TYPES = [
  'task.completed',
  'task.assigned',
  'task.comment_added',
  'task.issue_raised',
  'task.issue_resolved',
  'process.launched',
  'process.completed',
  'unknown',
] as const;

export const eventTypeSchema = z.enum(EVENT_TYPES);
/** `task.completed`, `process.launched`, … or `unknown`. */
export type EventType = z.infer<typeof eventTypeSchema>;

/** Whether `value` is one of {@link EVENT_TYPES}. */
export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

const isoUtc = z.lazy(() => z.iso.datetime({ offset: false, precision: 3 }));

/** The operator's decision on the actions of an event left in doubt (an envelope's `resolution`). */
export const resolutionSchema = z.lazy(() =>
  z.strictObject({
    as: z.enum(['retry', 'done']),
    actions: z
      .array(
        z.strictObject({
          ruleId: z.string().min(1).max(200),
          actionIndex: z.number().int().min(0).max(9999),
        }),
      )
      .min(1)
      .max(100),
  }),
);
export type Resolution = z.infer<typeof resolutionSchema>;

/**
 * Schema of an envelope. Workers parse SQS bodies with it ({@link parseEnvelope}). Unknown keys
 * are dropped rather than refused, so a receiver deployed before its worker cannot send
 * messages the older worker rejects.
 *
 * Exactly one of `data` (the Tallyfy payload) and `dataref` (archive key of the raw body, for
 * payloads too large for one SQS message: the CloudEvents "claim check" extension) is present.
 */
export const eventEnvelopeSchema = z.lazy(() =>
  z
    .object({
      specversion: z.literal('1.0'),
      /** The dedupe key ({@link dedupeKeyFor} / {@link bodyDedupeKey}). */
      id: z.string().min(1).max(512),
      /** `tallyfy/<orgId>`. */
      source: z.string().regex(/^tallyfy\/.+$/),
      type: eventTypeSchema,
      /** Task id for `task.*`, process (run) id for `process.*`; absent for most `unknown`. */
      subject: z.string().min(1).optional(),
      /** When the event happened (completion or launch time), else when it was received. */
      time: isoUtc,
      receivedAt: isoUtc,
      orgId: OrgIdSchema,
      /** Which part produced the envelope. */
      origin: EventOriginSchema,
      data: z.unknown().optional(),
      dataref: z.string().min(1).optional(),
      /**
       * Replays only (`dlq replay --in-doubt retry|done`): the operator's decision on actions a
       * dead letter left in doubt. `done` records them done without sending anything; `retry`
       * sends them unless a look finds their earlier effect. Read only when `origin` is `replay`;
       * never published to the bus.
       */
      resolution: resolutionSchema.optional(),
    })
    .refine((e) => e.source === `tallyfy/${e.orgId}`, {
      message: 'source must be tallyfy/<orgId>',
      path: ['source'],
    })
    .refine((e) => (e.data === undefined) !== (e.dataref === undefined), {
      message: 'exactly one of data and dataref must be present',
      path: ['data'],
    }),
);

export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** What identifies one occurrence of an event across every path it can arrive by. */
export interface DedupeKeyInput {
  type: EventType;
  /** Task id (task events) or process/run id (process events). */
  subjectId: string;
  /** Completion or launch time: ISO 8601 text, epoch ms or a Date. */
  occurredAt: string | number | Date;
}

/**
 * The dedupe key of an event with a subject and a time: `<type>:<subjectId>:<ISO UTC ms>`.
 * The time is normalised, so `2026-11-19T10:42:13Z`, `2026-11-19T10:42:13.000Z` and the
 * localized form parsed to the same instant give the same key. The reconciler calls this with
 * API data and so meets the receiver's key for the same completion.
 *
 * @throws RangeError when `occurredAt` is not a valid time or `subjectId` is empty
 * @example
 * dedupeKeyFor({ type: 'task.completed', subjectId: 't7c1', occurredAt: '2026-11-19T10:42:13Z' });
 * // 'task.completed:t7c1:2026-11-19T10:42:13.000Z'
 */
export function dedupeKeyFor(input: DedupeKeyInput): string {
  if (input.subjectId.length === 0) throw new RangeError('dedupeKeyFor: subjectId is empty');
  const time = new Date(input.occurredAt);
  if (Number.isNaN(time.getTime())) {
    throw new RangeError('dedupeKeyFor: occurredAt is not a valid time');
  }
  return `${input.type}:${input.subjectId}:${time.toISOString()}`;
}

/**
 * The dedupe key of an event without a subject id and time: `<type>:sha256:<hex>` over
 * `<orgId>\n<raw body>`. The org id is hashed in so two orgs posting byte-identical bodies
 * (`{}`) do not swallow each other's events in the shared dedupe table.
 *
 * @example bodyDedupeKey({ type: 'unknown', orgId: 'org1', body: '{"a":1}' }) // 'unknown:sha256:…'
 */
export function bodyDedupeKey(input: {
  type: EventType;
  orgId: string;
  body: string | Uint8Array;
}): string {
  const hash = createHash('sha256').update(input.orgId).update('\n').update(input.body);
  return `${input.type}:sha256:${hash.digest('hex')}`;
}

/** What {@link createEnvelope} needs. */
export interface CreateEnvelopeInput {
  orgId: string;
  type: EventType;
  /** Task or process id, when the payload has one. */
  subjectId?: string;
  /** Completion / launch time, when the payload has one (any form `new Date()` reads). */
  occurredAt?: string | number | Date;
  /** Epoch ms the event reached us. */
  receivedAtMs: number;
  origin: EventOrigin;
  /** The Tallyfy payload. */
  data: unknown;
  /**
   * The raw body, hashed for the key when there is no subject id or time.
   * @default JSON.stringify(data)
   */
  rawBody?: string | Uint8Array;
  /**
   * The JSON text `data` was parsed from (the receiver has it). {@link serializeEnvelope} then
   * splices this text in instead of serializing `data` again: the same JSON value, at a
   * fraction of the cost for large payloads.
   */
  dataJson?: string;
}

/** The JSON text of an envelope's `data`, for envelopes built with `dataJson`. */
const dataJsonOf = new WeakMap<EventEnvelope, { data: unknown; json: string }>();

/**
 * Builds a valid envelope; the id is {@link dedupeKeyFor} when both a subject and a time are
 * known, else {@link bodyDedupeKey}.
 *
 * @example
 * const envelope = createEnvelope({ orgId, type: 'task.completed', subjectId: task.id,
 *   occurredAt: task.completed_at, receivedAtMs: clock(), origin: 'reconciler', data: task });
 */
export function createEnvelope(input: CreateEnvelopeInput): EventEnvelope {
  const { orgId, type, subjectId, occurredAt, receivedAtMs, origin, data } = input;
  const receivedAt = new Date(receivedAtMs).toISOString();
  const keyed = subjectId !== undefined && subjectId !== '' && occurredAt !== undefined;
  const id = keyed
    ? dedupeKeyFor({ type, subjectId, occurredAt })
    : bodyDedupeKey({ type, orgId, body: input.rawBody ?? JSON.stringify(data) });
  const envelope: EventEnvelope = {
    specversion: '1.0',
    id,
    source: `tallyfy/${orgId}`,
    type,
    time: occurredAt === undefined ? receivedAt : new Date(occurredAt).toISOString(),
    receivedAt,
    orgId,
    origin,
    data,
  };
  if (subjectId !== undefined && subjectId !== '') envelope.subject = subjectId;
  if (input.dataJson !== undefined) dataJsonOf.set(envelope, { data, json: input.dataJson });
  return envelope;
}

/** The envelope as an SQS body / EventBridge detail. */
export function serializeEnvelope(envelope: EventEnvelope): string {
  const text = dataJsonOf.get(envelope);
  // only while `data` is still the value that text was parsed into
  if (text === undefined || text.data !== envelope.data) return JSON.stringify(envelope);
  const { data: _data, ...rest } = envelope;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"data":${text.json}}`;
}

/**
 * Parses an SQS message body (or any JSON text) into an envelope.
 *
 * @throws EnvelopeInvalidError naming the failed checks (never quoting the payload)
 * @example const envelope = parseEnvelope(record.body);
 */
export function parseEnvelope(body: string): EventEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new EnvelopeInvalidError('the message body is not JSON', { cause: error });
  }
  const parsed = eventEnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    const checks = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EnvelopeInvalidError(`the message is not an event envelope: ${checks.join('; ')}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
