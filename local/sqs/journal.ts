/**
 * The local SQS's data file, `sqs.jsonl`: a journal (see `local/persistence`) of what changed,
 * one record per line, so a send costs one appended line whatever the backlog. Each record sets
 * state (never "add one"), so replaying any tail of the log twice gives the same queues; that
 * is what lets compaction run while appends go on.
 *
 * Records: `{"queue":{…}}` creates or updates a queue, `{"dropQueue":name}`, `{"put":{q,m}}` a
 * whole message (sent, or moved to a dead-letter queue), `{"set":{q,id,…}}` the fields a
 * receive or a visibility change sets, `{"del":{q,id}}`, `{"purge":name}`.
 *
 * Also reads the `sqs.json` of earlier versions (the whole state as one JSON document), with
 * salvage when it is damaged.
 */
import * as z from 'zod';
import {
  countOccurrences,
  type DocumentSpec,
  type JournalSpec,
  type PartialJson,
  scanObjects,
} from '../persistence/index.ts';
import type { EngineState, StoredMessage, StoredQueue } from './engine.ts';

const AttributeValueSchema = z.strictObject({
  DataType: z.string(),
  StringValue: z.string().optional(),
  BinaryValue: z.string().optional(),
});

export const StoredMessageSchema = z.looseObject({
  messageId: z.string().min(1),
  body: z.string(),
  md5OfBody: z.string(),
  messageAttributes: z.record(z.string(), AttributeValueSchema),
  md5OfMessageAttributes: z.string().optional(),
  sentTimestamp: z.number(),
  visibleAt: z.number(),
  receiveCount: z.number().int().nonnegative(),
  firstReceiveTimestamp: z.number().optional(),
  receiptHandle: z.string().optional(),
  deadLetterQueueSourceArn: z.string().optional(),
});

const QueueHeaderSchema = z.looseObject({
  name: z.string().min(1),
  createdTimestamp: z.number(),
  lastModifiedTimestamp: z.number(),
  attributes: z.record(z.string(), z.string()),
});
export type QueueHeader = Omit<StoredQueue, 'messages'>;

const SqsRecordSchema = z.union([
  z.strictObject({ queue: QueueHeaderSchema }),
  z.strictObject({ dropQueue: z.string().min(1) }),
  z.strictObject({ put: z.strictObject({ q: z.string().min(1), m: StoredMessageSchema }) }),
  z.strictObject({
    set: z.strictObject({
      q: z.string().min(1),
      id: z.string().min(1),
      receiveCount: z.number().int().nonnegative().optional(),
      firstReceiveTimestamp: z.number().optional(),
      visibleAt: z.number().optional(),
      /** `null`: the message has no live receipt handle. */
      receiptHandle: z.string().nullable().optional(),
    }),
  }),
  z.strictObject({ del: z.strictObject({ q: z.string().min(1), id: z.string().min(1) }) }),
  z.strictObject({ purge: z.string().min(1) }),
]);
/** One line of the journal (the schema above checks them on reading). */
export type SqsRecord =
  | { queue: QueueHeader }
  | { dropQueue: string }
  | { put: { q: string; m: StoredMessage } }
  | {
      set: {
        q: string;
        id: string;
        receiveCount?: number | undefined;
        firstReceiveTimestamp?: number | undefined;
        visibleAt?: number | undefined;
        receiptHandle?: string | null | undefined;
      };
    }
  | { del: { q: string; id: string } }
  | { purge: string };

/** The journal spec of `sqs.jsonl`. */
export function sqsJournalSpec(file: string): JournalSpec<SqsRecord> {
  return {
    file,
    kind: 'local-sqs',
    version: 1,
    parse: (value) => {
      const parsed = SqsRecordSchema.safeParse(value);
      return parsed.success ? (parsed.data as SqsRecord) : undefined;
    },
  };
}

/** The queues a journal describes (records in file order). */
export function replaySqsRecords(records: Iterable<SqsRecord>): EngineState {
  const queues = new Map<string, QueueHeader & { messages: Map<string, StoredMessage> }>();
  const queueOf = (name: string) => {
    let queue = queues.get(name);
    if (queue === undefined) {
      // a message whose queue record was lost keeps its queue; local mode's start gives it
      // its configured attributes again
      queue = {
        name,
        createdTimestamp: 0,
        lastModifiedTimestamp: 0,
        attributes: {},
        messages: new Map(),
      };
      queues.set(name, queue);
    }
    return queue;
  };
  for (const record of records) {
    if ('queue' in record) {
      const queue = queueOf(record.queue.name);
      Object.assign(queue, record.queue);
    } else if ('dropQueue' in record) {
      queues.delete(record.dropQueue);
    } else if ('put' in record) {
      queueOf(record.put.q).messages.set(record.put.m.messageId, { ...record.put.m });
    } else if ('set' in record) {
      const { q, id, receiptHandle, ...fields } = record.set;
      const message = queues.get(q)?.messages.get(id);
      if (message === undefined) continue;
      Object.assign(message, fields);
      if (receiptHandle !== undefined) message.receiptHandle = receiptHandle ?? undefined;
    } else if ('del' in record) {
      queues.get(record.del.q)?.messages.delete(record.del.id);
    } else {
      const queue = queues.get(record.purge);
      if (queue) queue.messages.clear();
    }
  }
  return {
    version: 1,
    queues: [...queues.values()].map(({ messages, ...header }) => ({
      ...header,
      messages: [...messages.values()],
    })),
  };
}

/** The records that rebuild `state` (what compaction writes). */
export function* sqsRecordsOf(state: EngineState): Generator<SqsRecord> {
  for (const { messages, ...header } of state.queues) {
    yield { queue: header };
    for (const m of messages) yield { put: { q: header.name, m: withoutUndefined(m) } };
  }
}

/**
 * The `sqs.json` of earlier versions: `{"version":1,"queues":[{name, …, "messages":[…]}]}` on
 * one line. Salvage keeps every complete message (and the queue it was in) before the damage,
 * and every complete message found after it (in the queue whose name last precedes it).
 */
export function legacySqsSpec(file: string): DocumentSpec<EngineState> {
  return {
    file,
    parse: (value) => {
      const state = value as Partial<EngineState> | null;
      if (state?.version !== 1 || !Array.isArray(state.queues)) return undefined;
      const queues: StoredQueue[] = [];
      for (const queue of state.queues) {
        const header = QueueHeaderSchema.safeParse(withoutKey(queue, 'messages'));
        if (!header.success || !Array.isArray(queue.messages)) return undefined;
        const messages = queue.messages.map((m) => StoredMessageSchema.safeParse(m));
        if (!messages.every((m) => m.success)) return undefined;
        queues.push({ ...header.data, messages: messages.map((m) => m.data as StoredMessage) });
      }
      return { version: 1, queues };
    },
    salvage: ({ partial, text }) => salvageLegacy(partial, text),
    serialize: (state) => `${JSON.stringify(state)}\n`,
  };
}

function salvageLegacy(
  partial: PartialJson,
  text: string,
): { document: EngineState; kept: number; lost: number } {
  const queues = new Map<string, StoredQueue>();
  const seen = new Set<string>();
  const keep = (queueName: string, header: unknown, message: unknown) => {
    const parsed = StoredMessageSchema.safeParse(message);
    if (!parsed.success || seen.has(parsed.data.messageId)) return;
    let queue = queues.get(queueName);
    if (queue === undefined) {
      queue = queueFrom(queueName, header);
      queues.set(queueName, queue);
    }
    seen.add(parsed.data.messageId);
    queue.messages.push(parsed.data as StoredMessage);
  };
  // before the damage: queues (even a cut one, if its name survived) and their whole messages
  const root = partial.value as { queues?: unknown } | undefined;
  const listed = Array.isArray(root?.queues) ? root.queues : [];
  for (const queue of listed as Array<Record<string, unknown>>) {
    if (typeof queue?.name !== 'string') continue;
    const header = withoutKey(queue, 'messages');
    if (!queues.has(queue.name)) queues.set(queue.name, queueFrom(queue.name, header));
    const messages = Array.isArray(queue.messages) ? queue.messages : [];
    for (const message of messages) {
      if (partial.isComplete(message)) keep(queue.name, header, message);
    }
  }
  // after it: complete messages, in the queue whose name was written last before them
  if (!partial.complete) {
    const names = [...text.matchAll(/\{"name":("(?:[^"\\]|\\.)*")/g)].map((m) => ({
      at: m.index ?? 0,
      name: JSON.parse(m[1] ?? '""') as string,
    }));
    for (const found of scanObjects(
      text,
      partial.stoppedAt,
      (v) => StoredMessageSchema.safeParse(v).success,
    )) {
      const owner = names.filter((n) => n.at < found.start).at(-1)?.name;
      if (owner !== undefined) keep(owner, undefined, found.value);
    }
  }
  // every message written had a messageId key: those not kept are lost (a cut file may have
  // lost more after the cut, which nothing in it can count)
  const kept = seen.size;
  const lost = Math.max(0, countOccurrences(text, '"messageId":') - kept);
  return { document: { version: 1, queues: [...queues.values()] }, kept, lost };
}

/** A queue from a salvaged header; without one, SQS's defaults (local mode sets its own at start). */
function queueFrom(name: string, header: unknown): StoredQueue {
  const valid = QueueHeaderSchema.safeParse(header);
  return valid.success
    ? { ...valid.data, name, messages: [] }
    : { name, createdTimestamp: 0, lastModifiedTimestamp: 0, attributes: {}, messages: [] };
}

function withoutKey(value: unknown, key: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return {};
  const { [key]: _, ...rest } = value as Record<string, unknown>;
  return rest;
}

function withoutUndefined(message: StoredMessage): StoredMessage {
  return Object.fromEntries(
    Object.entries(message).filter(([, v]) => v !== undefined),
  ) as unknown as StoredMessage;
}
