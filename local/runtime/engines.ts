/**
 * The local engines AWS provides in the cloud, each listening on loopback and persisting under
 * DATA_DIR so a restart keeps everything: DynamoDB Local (`dynamodb/`, supervised: restarted
 * if it dies), Secrets Manager (`secrets.json`), SQS with the events queue and its dead-letter
 * queue (`sqs.jsonl`), an EventBridge PutEvents endpoint (`events.jsonl`, every event put on
 * the bus), and the Tallyfy sandbox (`sandbox.jsonl`: it stands for Tallyfy, which keeps its
 * state too). Damaged files are salvaged by each engine (see `local/persistence`).
 */
import { join, resolve } from 'node:path';
import {
  assertJava,
  type DynamoDbLocal,
  DynamoDbLocalError,
  freePort,
  startDynamoDbLocal,
} from '../dynamodb-local.ts';
import { type LocalEventBridge, startLocalEventBridge } from '../eventbridge/index.ts';
import { DataFileError, type SalvageReport } from '../persistence/index.ts';
import { type LocalSecretsManager, startLocalSecretsManager } from '../secrets-manager/index.ts';
import { type LocalSqs, startLocalSqs } from '../sqs/index.ts';
import { openSandboxState, type StartedSandbox, startSandbox } from '../tallyfy-sandbox/index.ts';
import { LocalModeError } from './errors.ts';
import { LOCAL_ACCOUNT } from './schedules.ts';
import { type Supervised, type SupervisedStatus, supervise } from './supervisor.ts';

/** Queue names of local mode (the stack names its own). */
export const EVENTS_QUEUE_NAME = 'tallyfy-events';
export const DEAD_LETTER_QUEUE_NAME = 'tallyfy-events-dlq';

/** As the stack: after 5 receives a message moves to the dead-letter queue. */
import { MAX_RECEIVE_COUNT } from '../../shared/dlq/index.ts';

export { MAX_RECEIVE_COUNT };
/** As the stack's queue (6 x the worker's timeout of 10 s, AWS's advice). */
export const VISIBILITY_TIMEOUT_SECONDS = 60;

/** DynamoDB Local's database directory under DATA_DIR (its command line names it). */
export function dynamoDbPath(dataDir: string): string {
  return resolve(dataDir, 'dynamodb');
}

export interface Engines {
  /** Supervised: `status()` says whether it is up; the endpoint stays the same across restarts. */
  dynamodb: {
    readonly endpoint: string;
    readonly port: number;
    pid(): number | undefined;
    status(): SupervisedStatus;
    whenUp(): Promise<void>;
  };
  secretsManager: LocalSecretsManager;
  sqs: LocalSqs;
  eventsQueueUrl: string;
  deadLetterQueueUrl: string;
  eventBridge: LocalEventBridge;
  /** Absent when TALLYFY_BASE_URL points elsewhere. */
  sandbox: StartedSandbox | undefined;
  /** Whether the sandbox came back from its saved state (`false`: seeded this start). */
  sandboxRestored: boolean;
  /** Damaged data files found at start: kept aside, what was kept and lost. */
  salvage: readonly SalvageReport[];
  /** Stops every engine, the last started first. */
  stop(): Promise<void>;
}

export interface StartEnginesOptions {
  dataDir: string;
  region: string;
  /** The bus the worker publishes to (EVENT_BUS_NAME); PutEvents to another bus fails. */
  eventBusName: string;
  /** Start the sandbox (TALLYFY_BASE_URL unset). */
  sandbox: boolean;
  /** Start the sandbox from its seed; its saved state is kept aside. @default false */
  sandboxFresh?: boolean;
  clock: () => number;
  /** The sandbox's request log and other engine chatter, one line at a time. */
  log: (line: string) => void;
  /** DynamoDB Local went down, came back, or failed for good. */
  onEngineChange?: (status: SupervisedStatus) => void;
  /** DynamoDB Local died more often than it may be restarted: local mode must stop. */
  onEngineFailed?: (error: Error) => void;
  /** Delays of DynamoDB Local's restarts. @default [1000, 3000, 10000] */
  restartDelaysMs?: readonly number[];
}

/**
 * Starts every engine; if one fails, those already started are stopped before rethrowing.
 * @throws LocalModeError `LOCAL_JAVA_MISSING` with what to install; `LOCAL_ENGINE_FAILED` otherwise
 */
export async function startEngines(options: StartEnginesOptions): Promise<Engines> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
    stops.length = 0;
  };
  try {
    try {
      assertJava();
    } catch (error) {
      throw new LocalModeError('LOCAL_JAVA_MISSING', (error as Error).message, { cause: error });
    }
    const salvage: SalvageReport[] = [];
    // one port for every run of it, so clients keep their endpoint across restarts
    const port = await freePort();
    const dynamodb: Supervised<DynamoDbLocal> = await supervise({
      name: 'dynamodb',
      // its own process group: a Ctrl-C reaches local mode, which stops it after draining
      start: () =>
        startDynamoDbLocal({ dataDir: dynamoDbPath(options.dataDir), port, detached: true }),
      ...(options.restartDelaysMs ? { restartDelaysMs: options.restartDelaysMs } : {}),
      clock: options.clock,
      ...(options.onEngineChange ? { onChange: options.onEngineChange } : {}),
      ...(options.onEngineFailed ? { onGiveUp: options.onEngineFailed } : {}),
    });
    stops.push(() => dynamodb.stop());

    const secretsManager = await startLocalSecretsManager({
      dataFile: join(options.dataDir, 'secrets.json'),
      region: options.region,
      accountId: LOCAL_ACCOUNT,
      clock: options.clock,
    });
    stops.push(() => secretsManager.close());
    salvage.push(...secretsManager.salvage);

    const dlqArn = `arn:aws:sqs:${options.region}:${LOCAL_ACCOUNT}:${DEAD_LETTER_QUEUE_NAME}`;
    const sqs = await startLocalSqs({
      dataFile: join(options.dataDir, 'sqs.jsonl'),
      // the whole-state file of earlier versions, imported once
      importFrom: join(options.dataDir, 'sqs.json'),
      region: options.region,
      accountId: LOCAL_ACCOUNT,
      clock: options.clock,
      queues: [
        { name: DEAD_LETTER_QUEUE_NAME, attributes: { MessageRetentionPeriod: '1209600' } },
        {
          name: EVENTS_QUEUE_NAME,
          attributes: {
            VisibilityTimeout: String(VISIBILITY_TIMEOUT_SECONDS),
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqArn,
              maxReceiveCount: MAX_RECEIVE_COUNT,
            }),
          },
        },
      ],
    });
    stops.push(() => sqs.close());
    salvage.push(...sqs.salvage);

    const eventBridge = await startLocalEventBridge({
      dataFile: join(options.dataDir, 'events.jsonl'),
      buses: [options.eventBusName],
      region: options.region,
      accountId: LOCAL_ACCOUNT,
      clock: options.clock,
    });
    stops.push(() => eventBridge.close());
    salvage.push(...eventBridge.salvage);

    let sandbox: StartedSandbox | undefined;
    let sandboxRestored = false;
    if (options.sandbox) {
      const state = await openSandboxState({
        file: join(options.dataDir, 'sandbox.jsonl'),
        fresh: options.sandboxFresh ?? false,
        clock: options.clock,
      });
      if (state.salvage) salvage.push(state.salvage);
      sandbox = await startSandbox({ clock: options.clock, log: options.log, persistence: state });
      sandboxRestored = state.restored();
      const started = sandbox;
      stops.push(() => started.close());
    }

    return {
      dynamodb: {
        endpoint: `http://127.0.0.1:${port}`,
        port,
        pid: () => dynamodb.current()?.pid,
        status: () => dynamodb.status(),
        whenUp: () => dynamodb.whenUp(),
      },
      secretsManager,
      sqs,
      eventsQueueUrl: sqs.queueUrl(EVENTS_QUEUE_NAME),
      deadLetterQueueUrl: sqs.queueUrl(DEAD_LETTER_QUEUE_NAME),
      eventBridge,
      sandbox,
      sandboxRestored,
      salvage,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    if (error instanceof LocalModeError) throw error;
    if (error instanceof DynamoDbLocalError) {
      throw new LocalModeError('LOCAL_ENGINE_FAILED', error.message, { cause: error });
    }
    if (error instanceof DataFileError) {
      throw new LocalModeError('LOCAL_DATA_FILE_UNUSABLE', error.message, { cause: error });
    }
    throw new LocalModeError(
      'LOCAL_ENGINE_FAILED',
      `A local engine did not start: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
