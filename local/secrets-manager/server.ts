import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sleep } from '../../shared/async.ts';
import {
  countRequest,
  engineIdentity,
  FaultQueue,
  internalFailure,
  jsonObjectBody,
  targetOperation,
} from '../aws-json.ts';
import { readBody, sendJson, startLocalServer } from '../http.ts';
import type { SalvageReport } from '../persistence/index.ts';
import { MUTATING, SecretsEngine, SecretsManagerFault } from './engine.ts';
import { loadState, saveState } from './file-state.ts';

/** Options of {@link startLocalSecretsManager}. */
export interface LocalSecretsManagerOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** Persist every change to this JSON file (atomic writes, mode 0600). @default in memory only */
  dataFile?: string;
  /** Delay added before every answer, to make latency visible in benches. @default 0 */
  latencyMs?: number;
  /** Epoch ms; drives dates and recovery windows. @default Date.now */
  clock?: () => number;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /**
   * Called once per request with what is safe to log (operation, status, error type): never a
   * secret id's value, never a request body. @default nothing is logged
   */
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface RequestLogEntry {
  operation: string;
  statusCode: number;
  errorType?: string | undefined;
  durationMs: number;
}

/** A failure the server answers instead of running the next matching calls. */
export interface FaultSpec {
  /**
   * `ThrottlingException` (400, the SDK retries it as throttling), `InternalServiceError`
   * (500, retried as transient), `reset` (the connection is destroyed without an answer).
   * @default 'ThrottlingException'
   */
  kind?: 'ThrottlingException' | 'InternalServiceError' | 'reset';
  /** How many calls fail. @default 1 */
  count?: number;
  /** Only these operations fail (others pass and do not use up the count). @default all */
  operations?: readonly string[];
}

export interface LocalSecretsManagerStats {
  /** Every request received, including those answered with an injected fault. */
  requests: number;
  /** Requests by operation name (`GetSecretValue`…), including injected faults. */
  byOperation: Record<string, number>;
  /** Requests answered with an injected fault. */
  faults: number;
}

export interface LocalSecretsManager {
  /** `http://127.0.0.1:<port>`, for the SDK client's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** A damaged data file found at start: what was kept aside, kept and lost. */
  readonly salvage: readonly SalvageReport[];
  close(): Promise<void>;
  stats(): LocalSecretsManagerStats;
  resetStats(): void;
  injectFault(fault?: FaultSpec): void;
  /** Drops every pending injected fault. */
  clearFaults(): void;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'secretsmanager.';
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Starts a Secrets Manager endpoint on loopback that speaks the AWS JSON 1.1 protocol, so the
 * real `@aws-sdk/client-secrets-manager` client works against it with `endpoint`. It keeps
 * AWS's semantics for versions, staging labels, `ClientRequestToken` idempotency and deletion
 * (see docs/tokens.md for the operations and what is simplified).
 *
 * @example
 * const sm = await startLocalSecretsManager({ dataFile: '.data/secrets.json' });
 * const client = new SecretsManagerClient({
 *   endpoint: sm.endpoint,
 *   region: 'us-east-1',
 *   credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
 * });
 * await client.send(new CreateSecretCommand({ Name: 'app/db', SecretString: '{}' }));
 * sm.stats().byOperation.CreateSecret; // 1
 * await sm.close();
 */
export async function startLocalSecretsManager(
  options: LocalSecretsManagerOptions = {},
): Promise<LocalSecretsManager> {
  const { dataFile, latencyMs = 0, onRequest } = options;
  const loaded = dataFile ? await loadState(dataFile, (options.clock ?? Date.now)()) : undefined;
  const engine = new SecretsEngine(engineIdentity(options), loaded?.state);
  let stats: LocalSecretsManagerStats = { requests: 0, byOperation: {}, faults: 0 };
  const faults = new FaultQueue<NonNullable<FaultSpec['kind']>>(() => stats);
  // Saves run one after another, in the order the changes were made.
  let saving: Promise<void> = Promise.resolve();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const started = performance.now();
    const operation = targetOperation(request, TARGET_PREFIX);
    const finish = (statusCode: number, body: unknown, errorType?: string): void => {
      sendJson(response, statusCode, body, {
        'content-type': CONTENT_TYPE,
        'x-amzn-requestid': randomUUID(),
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      onRequest?.({
        operation: operation || '(none)',
        statusCode,
        errorType,
        durationMs: performance.now() - started,
      });
    };
    const fail = (fault: SecretsManagerFault): void =>
      finish(fault.statusCode, { __type: fault.type, message: fault.message }, fault.type);

    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === undefined) {
      return fail(new SecretsManagerFault('ValidationException', 'The request body is too large.'));
    }
    countRequest(stats, operation);
    if (latencyMs > 0) await sleep(latencyMs);

    if (request.method !== 'POST' || !operation) {
      return fail(
        new SecretsManagerFault(
          'UnknownOperationException',
          'Expected a POST with an X-Amz-Target header of the form secretsmanager.<Operation>.',
        ),
      );
    }
    const fault = faults.take(operation);
    if (fault === 'reset') return void request.socket.destroy();
    if (fault) {
      return fail(
        fault === 'ThrottlingException'
          ? new SecretsManagerFault('ThrottlingException', 'Rate exceeded')
          : new SecretsManagerFault(
              'InternalServiceError',
              'An error occurred on the server side.',
              500,
            ),
      );
    }
    const input = jsonObjectBody(body);
    if (input === undefined) {
      return fail(
        new SecretsManagerFault('SerializationException', 'The request body is not a JSON object.'),
      );
    }
    let output: Record<string, unknown>;
    try {
      output = engine.handle(operation, input);
    } catch (error) {
      if (error instanceof SecretsManagerFault) return fail(error);
      throw error;
    }
    if (dataFile && MUTATING.has(operation)) {
      const snapshot = engine.snapshot();
      saving = saving.then(() => saveState(dataFile, snapshot));
      await saving;
    }
    finish(200, output);
  };

  const local = await startLocalServer(handle, {
    port: options.port,
    // An engine bug or a failed save: answer 500 (the SDK retries it) and keep serving.
    // The error names no secret value: the engine never puts one in a message.
    failureAnswer: internalFailure('InternalServiceError', CONTENT_TYPE),
  });

  return {
    endpoint: local.origin,
    port: local.port,
    salvage: loaded?.salvage ? [loaded.salvage] : [],
    async close() {
      await local.close();
      await saving;
    },
    stats: () => structuredClone(stats),
    resetStats() {
      stats = { requests: 0, byOperation: {}, faults: 0 };
    },
    injectFault(fault = {}) {
      faults.add(fault.kind ?? 'ThrottlingException', fault);
    },
    clearFaults() {
      faults.clear();
    },
  };
}
