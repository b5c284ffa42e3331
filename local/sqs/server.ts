import { randomUUID } from 'node:crypto';
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
import { type EngineState, MUTATING, SqsEngine, SqsFault } from './engine.ts';
import { loadState, saveState } from './file-state.ts';

/** Options of {@link startLocalSqs}. */
export interface LocalSqsOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** Persist every change to this JSON file (atomic writes); reloaded on start. @default memory only */
  dataFile?: string;
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
  const state = dataFile ? await loadState(dataFile) : undefined;
  const engine = new SqsEngine(engineIdentity(options), state);
  const stats: LocalSqsStats = { requests: 0, byOperation: {}, faults: 0 };
  const faults = new FaultQueue<NonNullable<SqsFaultSpec['kind']>>(() => stats);
  let closing = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };

  // Saves are coalesced: a change made while a save runs is covered by the next one, and every
  // caller waits for a save that includes its change.
  let dirty = false;
  let saving: Promise<void> | undefined;
  const persist = (): Promise<void> => {
    if (dataFile === undefined) return Promise.resolve();
    dirty = true;
    saving ??= (async () => {
      try {
        while (dirty) {
          dirty = false;
          await saveState(dataFile, engine.snapshot());
        }
      } finally {
        saving = undefined;
      }
    })();
    return saving;
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
        output = engine.handle(operation, input);
      }
    } catch (error) {
      if (error instanceof SqsFault) return fail(error);
      throw error;
    }
    if (MUTATING.has(operation)) {
      await persist();
      wake();
    }
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
      const messages = engine.receive(input);
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
    // an engine bug or a failed save: answer 500 (the SDK retries it) and keep serving
    failureAnswer: internalFailure('com.amazonaws.sqs#InternalError', CONTENT_TYPE),
  });
  const { port } = local;
  const endpoint = local.origin;
  engine.origin = endpoint;

  let created = false;
  for (const queue of options.queues ?? []) {
    try {
      engine.handle('GetQueueUrl', { QueueName: queue.name });
    } catch {
      // the engine's way of saying the queue does not exist yet: create it
      engine.handle('CreateQueue', { QueueName: queue.name, Attributes: queue.attributes ?? {} });
      created = true;
    }
  }
  if (created) await persist();

  return {
    endpoint,
    port,
    queueUrl: (name) => engine.queueUrl(name),
    queueArn: (name) => engine.queueArn(name),
    snapshot: () => engine.snapshot(),
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
      await saving;
    },
  };
}
