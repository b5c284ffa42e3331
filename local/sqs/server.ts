import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  countRequest,
  engineIdentity,
  FaultQueue,
  internalFailure,
  jsonObjectBody,
  targetOperation,
} from '../aws-json.ts';
import { readBody, sendJson, startLocalServer } from '../http.ts';
import {
  type Journal,
  type JournalStats,
  keepAside,
  loadDocument,
  loadJournal,
  openJournal,
  type SalvageReport,
} from '../persistence/index.ts';
import { type EngineState, MUTATING, SqsEngine, SqsFault } from './engine.ts';
import {
  legacySqsSpec,
  replaySqsRecords,
  type SqsRecord,
  sqsJournalSpec,
  sqsRecordsOf,
} from './journal.ts';

/** Options of {@link startLocalSqs}. */
export interface LocalSqsOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /**
   * Persist every change to this journal (`sqs.jsonl`: one appended line per change, fsynced,
   * compacted as it grows); reloaded on start, salvaged when damaged. @default memory only
   */
  dataFile?: string;
  /**
   * The `sqs.json` of an earlier version (the whole state as one document): when `dataFile`
   * does not exist yet, its queues are imported (salvaged if damaged), then it is kept aside as
   * `<file>.imported-<time>`.
   */
  importFrom?: string;
  /** fsync every commit of the journal. @default true */
  sync?: boolean;
  /** When the journal is rewritten from the live queues (see `openJournal`). @default 4 MiB, ×2 */
  compaction?: { minBytes?: number; ratio?: number };
  /** Epoch ms for visibility, delays and retention. @default Date.now */
  clock?: () => number;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /**
   * Queues created at start when missing, in order (a dead-letter queue before the queue whose
   * `RedrivePolicy` names it). Attributes use SQS's names: `VisibilityTimeout`, `RedrivePolicy`…
   */
  queues?: ReadonlyArray<{ name: string; attributes?: Readonly<Record<string, string>> }>;
  /** Called once per request (operation, status, error type; never a message body). */
  onRequest?: (entry: { operation: string; statusCode: number; errorType?: string }) => void;
}

/** A failure the endpoint answers instead of running the next matching calls. */
export interface SqsFaultSpec {
  /** `InternalError` (500, the SDK retries it) or `reset` (connection destroyed). @default 'InternalError' */
  kind?: 'InternalError' | 'reset';
  /** How many calls fail. @default 1 */
  count?: number;
  /** Only these operations (`SendMessage`…). @default all */
  operations?: readonly string[];
  /** Only calls on this queue (by name). @default any */
  queueName?: string;
}

export interface LocalSqsStats {
  requests: number;
  byOperation: Record<string, number>;
  faults: number;
}

export interface LocalSqs {
  /** `http://127.0.0.1:<port>`, for the SDK client's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** The URL of a queue of this endpoint (whether or not it exists). */
  queueUrl(name: string): string;
  /** The ARN of a queue of this endpoint (for a `RedrivePolicy`). */
  queueArn(name: string): string;
  /** A copy of the state (queues and messages), for assertions. */
  snapshot(): EngineState;
  /** Damaged data files found at start: what was kept aside, kept and lost. */
  readonly salvage: readonly SalvageReport[];
  /** The journal's counters (`undefined` in memory only). */
  journalStats(): JournalStats | undefined;
  stats(): LocalSqsStats;
  injectFault(fault?: SqsFaultSpec): void;
  clearFaults(): void;
  /** Answers waiting long polls (empty), stops, and waits for the last save. */
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'AmazonSQS.';
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
/** Longest sleep of a waiting long poll before it looks again (clock-driven visibility). */
const POLL_TICK_MS = 50;

/**
 * Starts an SQS endpoint on loopback speaking the AWS JSON 1.0 protocol that
 * `@aws-sdk/client-sqs` v3 uses (`X-Amz-Target: AmazonSQS.<Operation>`), so production queue
 * code runs unchanged in tests and local mode. Long polls (`WaitTimeSeconds`) wait for a send
 * or for a message to become visible. See docs/local-engines.md.
 *
 * @example
 * const sqs = await startLocalSqs({ dataFile: '.data/sqs.json', queues: [{ name: 'events' }] });
 * const client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1',
 *   credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
 * await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('events'), MessageBody: '{}' }));
 * await sqs.close();
 */
export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const { dataFile, onRequest } = options;
  const clock = options.clock ?? Date.now;
  const salvage: SalvageReport[] = [];
  let state: EngineState | undefined;
  let legacy: 'import' | 'leftover' | undefined;
  if (dataFile !== undefined) {
    const loaded = await loadJournal(sqsJournalSpec(dataFile), clock());
    if (loaded.salvage) salvage.push(loaded.salvage);
    state = replaySqsRecords(loaded.records);
    if (options.importFrom !== undefined && (await exists(options.importFrom))) {
      legacy = loaded.existed ? 'leftover' : 'import';
    }
    if (legacy === 'import' && options.importFrom !== undefined) {
      const imported = await loadDocument(legacySqsSpec(options.importFrom), clock());
      if (imported.salvage) salvage.push(imported.salvage);
      state = imported.document ?? state;
    }
  }
  const engine = new SqsEngine(engineIdentity(options), state);
  const journal: Journal<SqsRecord> | undefined =
    dataFile === undefined
      ? undefined
      : await openJournal(sqsJournalSpec(dataFile), {
          snapshot: () => sqsRecordsOf(engine.liveState()),
          sync: options.sync ?? true,
          ...(options.compaction ? { compaction: options.compaction } : {}),
        });
  if (legacy !== undefined && options.importFrom !== undefined) {
    // the journal holds everything now (or did before a crash cut the last import short)
    await keepAside(options.importFrom, legacy === 'import' ? 'imported' : 'superseded', clock());
    await rm(options.importFrom, { force: true });
  }
  const stats: LocalSqsStats = { requests: 0, byOperation: {}, faults: 0 };
  const faults = new FaultQueue<NonNullable<SqsFaultSpec['kind']>>(() => stats);
  let closing = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };

  // Runs one engine step and makes what it changed durable before the caller answers: appends
  // waiting together share one write and one fsync (the journal's group commit).
  const step = async <T>(operation: () => T): Promise<T> => {
    const { result, records } = engine.capture(operation);
    if (records.length > 0 && journal !== undefined) await journal.append(records);
    return result;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const operation = targetOperation(request, TARGET_PREFIX);
    const finish = (statusCode: number, body: unknown, fault?: SqsFault): void => {
      if (response.writableEnded || response.destroyed) return;
      sendJson(response, statusCode, body, {
        'content-type': CONTENT_TYPE,
        'x-amzn-requestid': randomUUID(),
        ...(fault ? { 'x-amzn-query-error': `${fault.queryCode};Sender` } : {}),
      });
      onRequest?.({
        operation: operation || '(none)',
        statusCode,
        ...(fault ? { errorType: fault.type } : {}),
      });
    };
    const fail = (fault: SqsFault): void =>
      finish(
        fault.statusCode,
        { __type: `com.amazonaws.sqs#${fault.type}`, message: fault.message },
        fault,
      );

    const body = await readBody(request, MAX_REQUEST_BYTES);
    countRequest(stats, operation);
    if (body === undefined) {
      return fail(new SqsFault('InvalidParameterValue', 'The request body is too large.'));
    }
    if (request.method !== 'POST' || !operation) {
      return fail(
        new SqsFault(
          'InvalidAction',
          'Expected a POST with X-Amz-Target: AmazonSQS.<Operation> (AWS JSON 1.0).',
          'InvalidAction',
        ),
      );
    }
    const input = jsonObjectBody(body);
    if (input === undefined) {
      return fail(new SqsFault('SerializationException', 'The request body is not a JSON object.'));
    }
    const queueName =
      typeof input.QueueUrl === 'string' ? input.QueueUrl.split('/').at(-1) : undefined;
    const fault = faults.take(operation, queueName);
    if (fault === 'reset') return void request.socket.destroy();
    if (fault) {
      return fail(
        new SqsFault('InternalError', 'We encountered an internal error.', 'InternalError', 500),
      );
    }

    let output: Record<string, unknown>;
    try {
      if (operation === 'ReceiveMessage') {
        output = await receiveWaiting(input, () => response.destroyed);
      } else {
        output = await step(() => engine.handle(operation, input));
      }
    } catch (error) {
      if (error instanceof SqsFault) return fail(error);
      throw error;
    }
    if (MUTATING.has(operation)) wake();
    finish(200, output);
  };

  /** ReceiveMessage with long polling: look, and while empty wait for a change or a tick. */
  const receiveWaiting = async (
    input: Record<string, unknown>,
    gone: () => boolean,
  ): Promise<Record<string, unknown>> => {
    const first = engine.handle('GetQueueAttributes', {
      QueueUrl: input.QueueUrl,
      AttributeNames: ['ReceiveMessageWaitTimeSeconds'],
    }) as { Attributes?: Record<string, string> };
    const waitSeconds =
      input.WaitTimeSeconds === undefined || input.WaitTimeSeconds === null
        ? Number(first.Attributes?.ReceiveMessageWaitTimeSeconds ?? 0)
        : Number(input.WaitTimeSeconds);
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      if (gone()) return {};
      const messages = await step(() => engine.receive(input));
      if (messages.length > 0) return { Messages: messages };
      const remaining = deadline - Date.now();
      if (remaining <= 0 || closing) return {};
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(remaining, POLL_TICK_MS));
        waiters.add(done);
      });
    }
  };

  const local = await startLocalServer(handle, {
    port: options.port,
    // an engine bug or a failed journal write: answer 500 (the SDK retries it) and keep serving
    failureAnswer: internalFailure('com.amazonaws.sqs#InternalError', CONTENT_TYPE),
  });
  const { port } = local;
  const endpoint = local.origin;
  engine.origin = endpoint;

  await step(() => {
    for (const queue of options.queues ?? [])
      engine.ensureQueue(queue.name, queue.attributes ?? {});
  });

  return {
    endpoint,
    port,
    queueUrl: (name) => engine.queueUrl(name),
    queueArn: (name) => engine.queueArn(name),
    snapshot: () => engine.snapshot(),
    salvage,
    journalStats: () => journal?.stats(),
    stats: () => structuredClone(stats),
    injectFault(fault = {}) {
      faults.add(fault.kind ?? 'InternalError', { ...fault, scope: fault.queueName });
    },
    clearFaults() {
      faults.clear();
    },
    async close() {
      closing = true;
      wake();
      await local.close(200);
      await journal?.close();
    },
  };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
