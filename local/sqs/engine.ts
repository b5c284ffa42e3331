/**
 * The queues of the local SQS endpoint: state and operations, without HTTP. Semantics follow
 * SQS standard queues where our code depends on them: visibility timeouts, receive counts,
 * redrive to a dead-letter queue after `maxReceiveCount` receives, batch limits, message size,
 * receipt handles that change on every receive. Order is FIFO-ish (oldest visible first),
 * which a standard queue does not promise: do not rely on it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { SqsRecord } from './journal.ts';
import { type AttributeValue, md5OfAttributes, md5OfBody } from './md5.ts';

/** A failure answered as an SQS error (`__type` `com.amazonaws.sqs#<type>`). */
export class SqsFault extends Error {
  readonly type: string;
  /** The AWS Query error code (header `x-amzn-query-error`), which the SDK reports as `Code`. */
  readonly queryCode: string;
  readonly statusCode: number;

  constructor(type: string, message: string, queryCode = type, statusCode = 400) {
    super(message);
    this.name = 'SqsFault';
    this.type = type;
    this.queryCode = queryCode;
    this.statusCode = statusCode;
  }
}

/** One message as stored (and persisted). Times are epoch ms. */
export interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, AttributeValue>;
  md5OfMessageAttributes?: string | undefined;
  sentTimestamp: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveTimestamp?: number | undefined;
  /** The handle of the latest receive; older handles no longer act on the message. */
  receiptHandle?: string | undefined;
  /** Set when the message was moved here by a redrive policy. */
  deadLetterQueueSourceArn?: string | undefined;
}

export interface StoredQueue {
  name: string;
  createdTimestamp: number;
  lastModifiedTimestamp: number;
  /** As given to CreateQueue (strings, SQS's own names). */
  attributes: Record<string, string>;
  messages: StoredMessage[];
}

/** What is persisted to the data file. */
export interface EngineState {
  version: 1;
  queues: StoredQueue[];
}

export interface SqsEngineOptions {
  /** Epoch ms; visibility, delays and retention read it. @default Date.now */
  clock?: () => number;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
}

/** Operations this endpoint implements (X-Amz-Target `AmazonSQS.<name>`). */
export const OPERATIONS = [
  'CreateQueue',
  'GetQueueUrl',
  'GetQueueAttributes',
  'ListQueues',
  'DeleteQueue',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'PurgeQueue',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Operations after which the state is saved. */
export const MUTATING: ReadonlySet<string> = new Set([
  'CreateQueue',
  'DeleteQueue',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'PurgeQueue',
]);

export const MAX_MESSAGE_BYTES = 262_144;
const MAX_BATCH_ENTRIES = 10;
const MAX_VISIBILITY_SECONDS = 43_200;
const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SentTimestamp',
  'SenderId',
  'DeadLetterQueueSourceArn',
] as const;
const DEFAULT_QUEUE_ATTRIBUTES: Readonly<Record<string, string>> = {
  VisibilityTimeout: '30',
  DelaySeconds: '0',
  MessageRetentionPeriod: '345600',
  MaximumMessageSize: String(MAX_MESSAGE_BYTES),
  ReceiveMessageWaitTimeSeconds: '0',
};
const SETTABLE_QUEUE_ATTRIBUTES = new Set([
  ...Object.keys(DEFAULT_QUEUE_ATTRIBUTES),
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'SqsManagedSseEnabled',
  'KmsMasterKeyId',
  'Policy',
]);

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

/** One message handed out by {@link SqsEngine.receive}. */
export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, AttributeValue>;
  MD5OfMessageAttributes?: string;
}

export class SqsEngine {
  readonly #queues = new Map<string, StoredQueue>();
  readonly #clock: () => number;
  readonly region: string;
  readonly accountId: string;
  /** Set by the server: the origin queue URLs are built on. */
  origin = 'http://127.0.0.1';
  /** What changed during the current {@link capture}, as journal records. */
  #changes: SqsRecord[] | undefined;

  constructor(options: SqsEngineOptions = {}, state?: EngineState) {
    this.#clock = options.clock ?? Date.now;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    for (const queue of state?.queues ?? []) this.#queues.set(queue.name, queue);
  }

  snapshot(): EngineState {
    return structuredClone({ version: 1 as const, queues: [...this.#queues.values()] });
  }

  /**
   * The live queues, not copied: read them synchronously and do not keep them (compaction
   * serialises them at once).
   */
  liveState(): EngineState {
    return { version: 1, queues: [...this.#queues.values()] };
  }

  /**
   * Runs `operation` (synchronous: nothing else runs meanwhile) and returns what it changed as
   * journal records, for the server to persist before it answers.
   */
  capture<T>(operation: () => T): { result: T; records: SqsRecord[] } {
    const records: SqsRecord[] = [];
    this.#changes = records;
    try {
      return { result: operation(), records };
    } finally {
      this.#changes = undefined;
    }
  }

  /**
   * Creates the queue, or gives an existing one these attributes (local mode's configuration
   * wins over what a data file says, e.g. after a salvage lost a queue's record).
   */
  ensureQueue(name: string, attributes: Readonly<Record<string, string>>): void {
    const existing = this.#queues.get(name);
    if (existing === undefined) {
      this.#createQueue({ QueueName: name, Attributes: { ...attributes } });
      return;
    }
    const changed = Object.entries(attributes).some(([k, v]) => existing.attributes[k] !== v);
    if (!changed && existing.createdTimestamp > 0) return;
    const now = this.#clock();
    existing.attributes = { ...DEFAULT_QUEUE_ATTRIBUTES, ...existing.attributes, ...attributes };
    if (existing.createdTimestamp === 0) existing.createdTimestamp = now;
    existing.lastModifiedTimestamp = now;
    this.#emitQueue(existing);
  }

  #emit(record: SqsRecord): void {
    this.#changes?.push(record);
  }

  #emitQueue(queue: StoredQueue): void {
    const { messages: _, ...header } = queue;
    this.#emit({ queue: structuredClone(header) });
  }

  queueUrl(name: string): string {
    return `${this.origin}/${this.accountId}/${name}`;
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  /** Runs one operation other than a waiting receive (the server loops on `receive`). */
  handle(operation: string, input: Input): Output {
    switch (operation as Operation) {
      case 'CreateQueue':
        return this.#createQueue(input);
      case 'GetQueueUrl': {
        const name = requireString(input, 'QueueName');
        if (!this.#queues.has(name)) throw nonExistentQueue();
        return { QueueUrl: this.queueUrl(name) };
      }
      case 'GetQueueAttributes':
        return this.#getQueueAttributes(input);
      case 'ListQueues': {
        const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
        const urls = [...this.#queues.keys()]
          .filter((name) => name.startsWith(prefix))
          .sort()
          .map((name) => this.queueUrl(name));
        return urls.length === 0 ? {} : { QueueUrls: urls };
      }
      case 'DeleteQueue':
        this.#queue(input);
        this.#queues.delete(queueNameOf(input));
        this.#emit({ dropQueue: queueNameOf(input) });
        return {};
      case 'SendMessage': {
        const queue = this.#queue(input);
        return this.#send(queue, input);
      }
      case 'SendMessageBatch':
        return this.#sendBatch(input);
      case 'ReceiveMessage':
        return { Messages: this.receive(input) };
      case 'DeleteMessage': {
        const queue = this.#queue(input);
        this.#delete(queue, requireString(input, 'ReceiptHandle'));
        return {};
      }
      case 'DeleteMessageBatch':
        return this.#batch(input, (queue, entry) => {
          this.#delete(queue, requireString(entry, 'ReceiptHandle'));
        });
      case 'ChangeMessageVisibility': {
        const queue = this.#queue(input);
        this.#changeVisibility(queue, input);
        return {};
      }
      case 'ChangeMessageVisibilityBatch':
        return this.#batch(input, (queue, entry) => this.#changeVisibility(queue, entry));
      case 'PurgeQueue': {
        const queue = this.#queue(input);
        queue.messages = [];
        this.#emit({ purge: queue.name });
        return {};
      }
      default:
        throw new SqsFault(
          'UnsupportedOperation',
          `The local SQS endpoint does not implement ${operation || '(no operation)'}.`,
          'AWS.SimpleQueueService.UnsupportedOperation',
        );
    }
  }

  /**
   * Receives up to `MaxNumberOfMessages` visible messages (none is an empty list: the server
   * waits and calls again for long polls). Messages received `maxReceiveCount` times before
   * move to the dead-letter queue here, as SQS does on the receive that would exceed it.
   */
  receive(input: Input): ReceivedMessage[] {
    const queue = this.#queue(input);
    const max = optionalInteger(input, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const visibilitySeconds =
      optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS) ??
      Number(queue.attributes.VisibilityTimeout ?? DEFAULT_QUEUE_ATTRIBUTES.VisibilityTimeout);
    optionalInteger(input, 'WaitTimeSeconds', 0, 20);
    const now = this.#clock();
    this.#expire(queue, now);
    const redrive = this.#redrivePolicy(queue);
    const systemNames = new Set([
      ...stringList(input, 'AttributeNames'),
      ...stringList(input, 'MessageSystemAttributeNames'),
    ]);
    const attributeNames = stringList(input, 'MessageAttributeNames');

    const received: ReceivedMessage[] = [];
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.#moveToDeadLetters(queue, message, redrive.target);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + visibilitySeconds * 1000;
      message.receiptHandle = `${message.messageId}:${randomBytes(24).toString('base64url')}`;
      this.#emit({
        set: {
          q: queue.name,
          id: message.messageId,
          receiveCount: message.receiveCount,
          firstReceiveTimestamp: message.firstReceiveTimestamp,
          visibleAt: message.visibleAt,
          receiptHandle: message.receiptHandle,
        },
      });
      received.push(this.#view(message, systemNames, attributeNames));
    }
    return received;
  }

  /** Epoch ms at which the next invisible message of the queue becomes visible, if any. */
  nextVisibleAt(input: Input): number | undefined {
    const queue = this.#queues.get(queueNameOf(input));
    let next: number | undefined;
    for (const message of queue?.messages ?? []) {
      if (next === undefined || message.visibleAt < next) next = message.visibleAt;
    }
    return next;
  }

  #createQueue(input: Input): Output {
    const name = requireString(input, 'QueueName');
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
      throw invalidParameter('QueueName must be 1-80 characters of A-Z a-z 0-9 _ -.');
    }
    const given = stringRecord(input.Attributes, 'Attributes');
    for (const key of Object.keys(given)) {
      if (!SETTABLE_QUEUE_ATTRIBUTES.has(key)) {
        throw new SqsFault(
          'InvalidAttributeName',
          `Unknown Attribute ${key}.`,
          'InvalidAttributeName',
        );
      }
    }
    if (given.RedrivePolicy !== undefined) parseRedrivePolicy(given.RedrivePolicy);
    const attributes = { ...DEFAULT_QUEUE_ATTRIBUTES, ...given };
    const existing = this.#queues.get(name);
    if (existing) {
      const same = Object.entries(given).every(([k, v]) => existing.attributes[k] === v);
      if (!same) {
        throw new SqsFault(
          'QueueNameExists',
          `A queue named ${name} already exists with different attributes.`,
          'QueueAlreadyExists',
        );
      }
      return { QueueUrl: this.queueUrl(name) };
    }
    const now = this.#clock();
    const queue: StoredQueue = {
      name,
      createdTimestamp: now,
      lastModifiedTimestamp: now,
      attributes,
      messages: [],
    };
    this.#queues.set(name, queue);
    this.#emitQueue(queue);
    return { QueueUrl: this.queueUrl(name) };
  }

  #getQueueAttributes(input: Input): Output {
    const queue = this.#queue(input);
    const now = this.#clock();
    this.#expire(queue, now);
    const visible = queue.messages.filter((m) => m.visibleAt <= now);
    const all: Record<string, string> = {
      ...queue.attributes,
      QueueArn: this.queueArn(queue.name),
      ApproximateNumberOfMessages: String(visible.length),
      ApproximateNumberOfMessagesNotVisible: String(
        queue.messages.filter((m) => m.visibleAt > now && m.receiptHandle !== undefined).length,
      ),
      ApproximateNumberOfMessagesDelayed: String(
        queue.messages.filter((m) => m.visibleAt > now && m.receiptHandle === undefined).length,
      ),
      CreatedTimestamp: String(Math.floor(queue.createdTimestamp / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.lastModifiedTimestamp / 1000)),
    };
    const names = stringList(input, 'AttributeNames');
    if (names.length === 0) return {};
    const wanted = names.includes('All') ? Object.keys(all) : names;
    const attributes: Record<string, string> = {};
    for (const key of wanted) {
      const value = all[key];
      if (value !== undefined) attributes[key] = value;
    }
    return { Attributes: attributes };
  }

  #send(queue: StoredQueue, input: Input): Output {
    const body = requireString(input, 'MessageBody');
    const messageAttributes = parseAttributes(input.MessageAttributes);
    const bytes = messageBytes(body, messageAttributes);
    const limit = Number(queue.attributes.MaximumMessageSize ?? MAX_MESSAGE_BYTES);
    if (bytes > limit) {
      throw invalidParameter(
        `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`,
      );
    }
    if (body.length === 0) throw new SqsFault('MissingParameter', 'MessageBody is empty.');
    const delaySeconds =
      optionalInteger(input, 'DelaySeconds', 0, 900) ?? Number(queue.attributes.DelaySeconds ?? 0);
    const now = this.#clock();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5OfBody(body),
      messageAttributes,
      md5OfMessageAttributes: md5OfAttributes(messageAttributes),
      sentTimestamp: now,
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
    };
    queue.messages.push(message);
    this.#emit({ put: { q: queue.name, m: persistable(message) } });
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes === undefined
        ? {}
        : { MD5OfMessageAttributes: message.md5OfMessageAttributes }),
    };
  }

  #sendBatch(input: Input): Output {
    const queue = this.#queue(input);
    const entries = batchEntries(input);
    let total = 0;
    for (const entry of entries) {
      const body = typeof entry.MessageBody === 'string' ? entry.MessageBody : '';
      total += messageBytes(body, parseAttributes(entry.MessageAttributes));
    }
    const limit = Number(queue.attributes.MaximumMessageSize ?? MAX_MESSAGE_BYTES);
    if (total > limit) {
      throw new SqsFault(
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${limit} bytes.`,
        'AWS.SimpleQueueService.BatchRequestTooLong',
      );
    }
    const Successful: Output[] = [];
    const Failed: Output[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id, ...this.#send(queue, entry) });
      } catch (error) {
        if (!(error instanceof SqsFault)) throw error;
        Failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
      }
    }
    return { Successful, Failed };
  }

  #batch(input: Input, act: (queue: StoredQueue, entry: Input) => void): Output {
    const queue = this.#queue(input);
    const Successful: Output[] = [];
    const Failed: Output[] = [];
    for (const entry of batchEntries(input)) {
      try {
        act(queue, entry);
        Successful.push({ Id: entry.Id });
      } catch (error) {
        if (!(error instanceof SqsFault)) throw error;
        Failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
      }
    }
    return { Successful, Failed };
  }

  /**
   * Deletes by the latest receipt handle. A handle of a message that is gone, or a stale handle
   * of a message received again since, deletes nothing and succeeds, as SQS may do.
   */
  #delete(queue: StoredQueue, receiptHandle: string): void {
    checkHandle(receiptHandle);
    const index = queue.messages.findIndex((m) => m.receiptHandle === receiptHandle);
    if (index < 0) return;
    const [deleted] = queue.messages.splice(index, 1);
    if (deleted) this.#emit({ del: { q: queue.name, id: deleted.messageId } });
  }

  #changeVisibility(queue: StoredQueue, input: Input): void {
    const receiptHandle = requireString(input, 'ReceiptHandle');
    checkHandle(receiptHandle);
    const seconds = optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS);
    if (seconds === undefined)
      throw new SqsFault('MissingParameter', 'VisibilityTimeout is missing.');
    const now = this.#clock();
    const message = queue.messages.find((m) => m.receiptHandle === receiptHandle);
    if (message === undefined || message.visibleAt <= now) {
      throw new SqsFault(
        'MessageNotInflight',
        'The message referred to is not in flight.',
        'AWS.SimpleQueueService.MessageNotInflight',
      );
    }
    message.visibleAt = now + seconds * 1000;
    this.#emit({ set: { q: queue.name, id: message.messageId, visibleAt: message.visibleAt } });
  }

  #moveToDeadLetters(source: StoredQueue, message: StoredMessage, targetName: string): void {
    const target = this.#queues.get(targetName);
    if (target === undefined) return;
    source.messages.splice(source.messages.indexOf(message), 1);
    message.receiptHandle = undefined;
    message.visibleAt = this.#clock();
    message.deadLetterQueueSourceArn = this.queueArn(source.name);
    target.messages.push(message);
    this.#emit({ del: { q: source.name, id: message.messageId } });
    this.#emit({ put: { q: target.name, m: persistable(message) } });
  }

  #redrivePolicy(queue: StoredQueue): { target: string; maxReceiveCount: number } | undefined {
    const text = queue.attributes.RedrivePolicy;
    if (text === undefined || text === '') return undefined;
    return parseRedrivePolicy(text);
  }

  #expire(queue: StoredQueue, now: number): void {
    const retentionMs = Number(queue.attributes.MessageRetentionPeriod ?? 345_600) * 1000;
    queue.messages = queue.messages.filter((m) => m.sentTimestamp + retentionMs > now);
  }

  #view(
    message: StoredMessage,
    systemNames: ReadonlySet<string>,
    attributeNames: readonly string[],
  ): ReceivedMessage {
    const view: ReceivedMessage = {
      MessageId: message.messageId,
      ReceiptHandle: message.receiptHandle as string,
      MD5OfBody: message.md5OfBody,
      Body: message.body,
    };
    const system: Record<string, string> = {
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? ''),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: this.accountId,
    };
    if (message.deadLetterQueueSourceArn !== undefined) {
      system.DeadLetterQueueSourceArn = message.deadLetterQueueSourceArn;
    }
    const all = systemNames.has('All');
    const attributes: Record<string, string> = {};
    for (const name of SYSTEM_ATTRIBUTES) {
      const value = system[name];
      if (value !== undefined && (all || systemNames.has(name))) attributes[name] = value;
    }
    if (Object.keys(attributes).length > 0) view.Attributes = attributes;
    const selected: Record<string, AttributeValue> = {};
    for (const [name, value] of Object.entries(message.messageAttributes)) {
      if (attributeSelected(name, attributeNames)) selected[name] = value;
    }
    if (Object.keys(selected).length > 0) {
      view.MessageAttributes = selected;
      view.MD5OfMessageAttributes = md5OfAttributes(selected) as string;
    }
    return view;
  }

  #queue(input: Input): StoredQueue {
    const queue = this.#queues.get(queueNameOf(input));
    if (queue === undefined) throw nonExistentQueue();
    return queue;
  }
}

/** A copy without `undefined` fields (the journal's schema has no place for them). */
function persistable(message: StoredMessage): StoredMessage {
  const copy = { ...message };
  for (const key of Object.keys(copy) as Array<keyof StoredMessage>) {
    if (copy[key] === undefined) delete copy[key];
  }
  return copy;
}

function nonExistentQueue(): SqsFault {
  return new SqsFault(
    'QueueDoesNotExist',
    'The specified queue does not exist.',
    'AWS.SimpleQueueService.NonExistentQueue',
  );
}

function invalidParameter(message: string): SqsFault {
  return new SqsFault('InvalidParameterValue', message, 'InvalidParameterValue');
}

/** The queue name of `QueueUrl` (its last path segment). */
function queueNameOf(input: Input): string {
  const url = requireString(input, 'QueueUrl');
  const name = url.split('?')[0]?.split('/').filter(Boolean).at(-1);
  if (name === undefined || name === '') throw invalidParameter(`Invalid QueueUrl ${url}.`);
  return name;
}

function requireString(input: Input, key: string): string {
  const value = input[key];
  if (typeof value !== 'string') {
    throw new SqsFault('MissingParameter', `The request must contain the parameter ${key}.`);
  }
  return value;
}

function optionalInteger(input: Input, key: string, min: number, max: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw invalidParameter(
      `Value ${String(value)} for parameter ${key} is invalid: ${min}-${max}.`,
    );
  }
  return number;
}

function stringList(input: Input, key: string): string[] {
  const value = input[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidParameter(`${key} must be a list of strings.`);
  }
  return value;
}

function stringRecord(value: unknown, key: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParameter(`${key} must be a map.`);
  }
  const record: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidParameter(`${key}.${k} must be a string.`);
    record[k] = v;
  }
  return record;
}

function parseAttributes(value: unknown): Record<string, AttributeValue> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParameter('MessageAttributes must be a map.');
  }
  const attributes: Record<string, AttributeValue> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 10) throw invalidParameter('A message can have at most 10 attributes.');
  for (const [name, raw] of entries) {
    const attr = raw as Partial<AttributeValue> | null;
    const type = attr?.DataType;
    if (typeof type !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(type)) {
      throw invalidParameter(`The message attribute '${name}' has an invalid DataType.`);
    }
    const isBinary = type.startsWith('Binary');
    const text = isBinary ? attr?.BinaryValue : attr?.StringValue;
    if (typeof text !== 'string' || text.length === 0) {
      throw invalidParameter(`The message attribute '${name}' must contain a non-empty value.`);
    }
    attributes[name] = isBinary
      ? { DataType: type, BinaryValue: text }
      : { DataType: type, StringValue: text };
  }
  return attributes;
}

/** Bytes SQS counts: body plus each attribute's name, type and value. */
function messageBytes(body: string, attributes: Record<string, AttributeValue>): number {
  let bytes = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    bytes +=
      value.BinaryValue !== undefined
        ? Buffer.from(value.BinaryValue, 'base64').length
        : Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

function batchEntries(input: Input): Input[] {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new SqsFault(
      'EmptyBatchRequest',
      'There should be at least one entry in the request.',
      'AWS.SimpleQueueService.EmptyBatchRequest',
    );
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsFault(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}.`,
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    );
  }
  const ids = new Set<string>();
  for (const entry of entries as Input[]) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new SqsFault(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores.',
        'AWS.SimpleQueueService.InvalidBatchEntryId',
      );
    }
    if (ids.has(id)) {
      throw new SqsFault(
        'BatchEntryIdsNotDistinct',
        `Id ${id} repeated.`,
        'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
      );
    }
    ids.add(id);
  }
  return entries as Input[];
}

function checkHandle(receiptHandle: string): void {
  if (!/^[0-9a-f-]{36}:[A-Za-z0-9_-]+$/.test(receiptHandle)) {
    throw new SqsFault(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${receiptHandle.slice(0, 40)}" is not a valid receipt handle.`,
      'ReceiptHandleIsInvalid',
    );
  }
}

function attributeSelected(name: string, wanted: readonly string[]): boolean {
  return wanted.some(
    (w) =>
      w === 'All' ||
      w === '.*' ||
      w === name ||
      (w.endsWith('.*') && name.startsWith(w.slice(0, -1))),
  );
}

/** `{deadLetterTargetArn, maxReceiveCount}` (a JSON string) → the target queue's name. */
function parseRedrivePolicy(text: string): { target: string; maxReceiveCount: number } {
  let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  try {
    policy = JSON.parse(text) as typeof policy;
  } catch {
    throw invalidParameter('RedrivePolicy is not JSON.');
  }
  const arn = policy.deadLetterTargetArn;
  const max = Number(policy.maxReceiveCount);
  if (typeof arn !== 'string' || !/^arn:aws[a-z-]*:sqs:[^:]+:[^:]+:[^:]+$/.test(arn)) {
    throw invalidParameter('RedrivePolicy.deadLetterTargetArn must be an SQS queue ARN.');
  }
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw invalidParameter('RedrivePolicy.maxReceiveCount must be an integer from 1 to 1000.');
  }
  return { target: arn.split(':').at(-1) as string, maxReceiveCount: max };
}
