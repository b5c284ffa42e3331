/**
 * The local engines AWS provides in the cloud, each listening on loopback and persisting under
 * DATA_DIR so a restart keeps everything: DynamoDB Local (`dynamodb/`), Secrets Manager
 * (`secrets.json`), SQS with the events queue and its dead-letter queue (`sqs.jsonl`), an
 * EventBridge PutEvents endpoint (`events.jsonl`, every event put on the bus), and the
 * Tallyfy sandbox (in memory: it stands for Tallyfy, not for our data).
 */
import { join } from 'node:path';
import {
  assertJava,
  type DynamoDbLocal,
  DynamoDbLocalError,
  startDynamoDbLocal,
} from '../dynamodb-local.ts';
import { type LocalEventBridge, startLocalEventBridge } from '../eventbridge/index.ts';
import { type LocalSecretsManager, startLocalSecretsManager } from '../secrets-manager/index.ts';
import { type LocalSqs, startLocalSqs } from '../sqs/index.ts';
import { type StartedSandbox, startSandbox } from '../tallyfy-sandbox/index.ts';
import { LocalModeError } from './errors.ts';
import { LOCAL_ACCOUNT } from './schedules.ts';

/** Queue names of local mode (the stack names its own). */
export const EVENTS_QUEUE_NAME = 'tallyfy-events';
export const DEAD_LETTER_QUEUE_NAME = 'tallyfy-events-dlq';
/** As the stack: after 5 receives a message moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;
/** As the stack's queue (6 x the worker's timeout of 10 s, AWS's advice). */
export const VISIBILITY_TIMEOUT_SECONDS = 60;

export interface Engines {
  dynamodb: DynamoDbLocal;
  secretsManager: LocalSecretsManager;
  sqs: LocalSqs;
  eventsQueueUrl: string;
  deadLetterQueueUrl: string;
  eventBridge: LocalEventBridge;
  /** Absent when TALLYFY_BASE_URL points elsewhere. */
  sandbox: StartedSandbox | undefined;
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
  clock: () => number;
  /** The sandbox's request log and other engine chatter, one line at a time. */
  log: (line: string) => void;
}

/**
 * Starts every engine; if one fails, those already started are stopped before rethrowing.
 * @throws LocalModeError `JAVA_MISSING` with what to install; `ENGINE_FAILED` otherwise
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
      throw new LocalModeError('JAVA_MISSING', (error as Error).message, { cause: error });
    }
    const dynamodb = await startDynamoDbLocal({ dataDir: join(options.dataDir, 'dynamodb') });
    stops.push(() => dynamodb.stop());

    const secretsManager = await startLocalSecretsManager({
      dataFile: join(options.dataDir, 'secrets.json'),
      region: options.region,
      accountId: LOCAL_ACCOUNT,
    });
    stops.push(() => secretsManager.close());

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

    const eventBridge = await startLocalEventBridge({
      dataFile: join(options.dataDir, 'events.jsonl'),
      buses: [options.eventBusName],
      region: options.region,
      accountId: LOCAL_ACCOUNT,
      clock: options.clock,
    });
    stops.push(() => eventBridge.close());

    let sandbox: StartedSandbox | undefined;
    if (options.sandbox) {
      sandbox = await startSandbox({ clock: options.clock, log: options.log });
      const started = sandbox;
      stops.push(() => started.close());
    }

    return {
      dynamodb,
      secretsManager,
      sqs,
      eventsQueueUrl: sqs.queueUrl(EVENTS_QUEUE_NAME),
      deadLetterQueueUrl: sqs.queueUrl(DEAD_LETTER_QUEUE_NAME),
      eventBridge,
      sandbox,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    if (error instanceof LocalModeError) throw error;
    if (error instanceof DynamoDbLocalError) {
      throw new LocalModeError('ENGINE_FAILED', error.message, { cause: error });
    }
    throw new LocalModeError(
      'ENGINE_FAILED',
      `A local engine did not start: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
