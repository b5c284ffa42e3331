/**
 * Local mode as a function: `startLocalMode()` runs the whole bundle on one machine and
 * returns its URLs and a `stop()`. `local/main.ts` (`npm start`) wraps it with signals and a
 * banner; tests and the CLI's end-to-end test call it in-process. See docs/local.md.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localModeConsole } from '../../bin/console/index.ts';
import { ConfigError, type EnvRecord, loadConfig, SECTION_NAMES } from '../../shared/config.ts';
import { createLogger, type LogLevelName, type LogSink } from '../../shared/observability/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
} from '../../shared/orgs/index.ts';
import { createTokenStore } from '../../shared/tokens/index.ts';
import { startSqsEventSource } from '../sqs/index.ts';
import { type LocalDemo, prepareDemo } from './demo.ts';
import { type Engines, startEngines } from './engines.ts';
import { LocalModeError } from './errors.ts';
import { buildFunctions, FUNCTION_NAMES, type InvocableHandler } from './functions.ts';
import { startLocalHttpServer } from './http-server.ts';
import { type Schedules, scheduledEvent, stackSchedules, startSchedules } from './schedules.ts';
import { localEnv, readLocalSettings } from './settings.ts';
import { type LocalState, readLocalState, writeLocalState } from './state-file.ts';

export type { LocalDemo } from './demo.ts';
export { LocalModeError, type LocalModeErrorCode } from './errors.ts';
export { LOCAL_VARIABLES, readEnvFile } from './settings.ts';
export type { LocalState } from './state-file.ts';

/** Credentials the SDK clients sign with; the local engines accept any. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Options of {@link startLocalMode}. */
export interface LocalModeOptions {
  /**
   * The environment: `.env` values under the process environment (main.ts builds it). Local
   * defaults fill what it leaves unset.
   * @default {}
   */
  env?: EnvRecord;
  /** Overrides `PORT` (0 = a free port, for tests). */
  port?: number;
  /** Overrides `DATA_DIR`. */
  dataDir?: string;
  /** Human log lines instead of JSON. @default false */
  pretty?: boolean;
  /** Where log lines go. @default stdout/stderr */
  logSink?: LogSink;
  /** Arm the refresher, reconciler and reporter timers. @default true */
  schedules?: boolean;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
}

export interface LocalMode {
  readonly urls: {
    http: string;
    health: string;
    invoke: string;
    webhookBase: string;
    tallyfy: string;
    sandbox: string | null;
    /** The operator console's link (it carries a per-start token: print it, never log it). */
    console: string;
  };
  readonly dataDir: string;
  readonly stateFile: string;
  readonly demo: LocalDemo | undefined;
  /** Functions of the stack without a handler in this checkout. */
  readonly missingFunctions: readonly string[];
  /** Runs a function in-process, as `POST /_local/invoke/<name>` does. */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /** Resolves once every message visible on the events queue now has been handled. */
  drainQueue(): Promise<void>;
  /** Stops taking work, finishes what is in flight, stops every engine. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts local mode: HTTP port first (a port in use fails at once), then the engines, the
 * table, the functions, the demo org, the queue poller and the timers; writes local.json.
 *
 * @throws LocalModeError (`PORT_IN_USE`, `ALREADY_RUNNING`, `JAVA_MISSING`, `CONFIG_INVALID`,
 *   `ENGINE_FAILED`, `DEMO_FAILED`) with a one-line message; anything started is stopped first
 * @example
 * const local = await startLocalMode({ port: 0, dataDir: '/tmp/x', schedules: false });
 * console.log(local.urls.webhookBase);
 * await local.stop();
 */
export async function startLocalMode(options: LocalModeOptions = {}): Promise<LocalMode> {
  const clock = options.clock ?? Date.now;
  const userEnv = options.env ?? {};
  const settings = configStep(() => readLocalSettings(userEnv));
  const port = options.port ?? settings.port;
  const dataDir = resolve(options.dataDir ?? settings.dataDir);
  const useSandbox = (userEnv.TALLYFY_BASE_URL ?? '').trim() === '';
  // the full config is loaded once the endpoints are known; check the rest before any start
  const precheck = configStep(() =>
    loadConfig(SECTION_NAMES, localEnv({ processEnv: userEnv }, placeholderEndpoints())),
  );
  const logLevel = precheck.log.logLevel as LogLevelName;
  const pretty = options.pretty ?? false;
  const logger = createLogger({
    serviceName: 'local',
    level: logLevel,
    pretty,
    ...(options.logSink ? { sink: options.logSink } : {}),
  });

  await mkdir(dataDir, { recursive: true });
  const stateFile = join(dataDir, 'local.json');
  const previous = await readLocalState(stateFile);
  if (previous?.running && previous.pid !== process.pid && isAlive(previous.pid)) {
    // two processes on one DynamoDB Local data directory would corrupt it
    throw new LocalModeError(
      'ALREADY_RUNNING',
      `Local mode is already running on ${dataDir} (pid ${previous.pid}, ${previous.urls.http}): stop it first, or start with another DATA_DIR.`,
    );
  }

  const http = await startLocalHttpServer({
    port,
    clock,
    onError: (message, error) => logger.error(message, { error }),
  });
  const cleanups: Array<() => Promise<void>> = [() => http.close()];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      await step().catch((error: unknown) => logger.warn('stop step failed', { error }));
    }
    cleanups.length = 0;
  };

  const region = precheck.aws.region ?? 'us-east-1';
  try {
    logger.info('starting engines', { dataDir, sandbox: useSandbox });
    const engines: Engines = await startEngines({
      dataDir,
      region,
      eventBusName: precheck.bus.eventBusName,
      sandbox: useSandbox,
      clock,
      log: (line) => logger.debug(line, { engine: 'tallyfy-sandbox' }),
    });
    cleanups.push(() => engines.stop());

    const config = configStep(() =>
      loadConfig(
        SECTION_NAMES,
        localEnv(
          { processEnv: userEnv },
          {
            DYNAMODB_ENDPOINT: engines.dynamodb.endpoint,
            SECRETS_MANAGER_ENDPOINT: engines.secretsManager.endpoint,
            SQS_ENDPOINT: engines.sqs.endpoint,
            EVENTBRIDGE_ENDPOINT: engines.eventBridge.endpoint,
            EVENTS_QUEUE_URL: engines.eventsQueueUrl,
            EVENTS_DLQ_URL: engines.deadLetterQueueUrl,
            // the refresher runs in this process; a Lambda name here would be unreachable
            REFRESH_REQUESTS: 'local',
            ...(engines.sandbox ? { TALLYFY_BASE_URL: engines.sandbox.url } : {}),
          },
        ),
      ),
    );

    const dynamo = createOrgsDynamoClients({
      endpoint: engines.dynamodb.endpoint,
      region,
      credentials: LOCAL_CREDENTIALS,
    });
    const secretsClient = new SecretsManagerClient({
      endpoint: engines.secretsManager.endpoint,
      region,
      credentials: LOCAL_CREDENTIALS,
    });
    const eventBridgeClient = new EventBridgeClient({
      endpoint: engines.eventBridge.endpoint,
      region,
      credentials: LOCAL_CREDENTIALS,
    });
    const sqsClient = new SQSClient({
      endpoint: engines.sqs.endpoint,
      region,
      credentials: LOCAL_CREDENTIALS,
    });
    cleanups.push(async () => {
      dynamo.document.destroy();
      dynamo.client.destroy();
      secretsClient.destroy();
      sqsClient.destroy();
      eventBridgeClient.destroy();
    });
    // "event on the bus": the last step of the demo path, visible in the log
    const busLogger = createLogger({
      serviceName: 'event-bus',
      level: logLevel,
      pretty,
      ...(options.logSink ? { sink: options.logSink } : {}),
    });
    const unsubscribe = engines.eventBridge.subscribe((event) => {
      const detail = event.detail as { id?: unknown; orgId?: unknown };
      busLogger.info('event on the bus', {
        detailType: event['detail-type'],
        source: event.source,
        orgId: typeof detail.orgId === 'string' ? detail.orgId : undefined,
        eventId: typeof detail.id === 'string' ? detail.id : undefined,
      });
    });
    cleanups.push(async () => {
      unsubscribe();
    });

    const table = await createOrgsTable(dynamo.client, config.orgs.tableName);
    if (table.created) logger.info('orgs table created', { table: config.orgs.tableName });
    const registry = createOrgRegistry({
      client: dynamo.document,
      tableName: config.orgs.tableName,
      clock,
      shards: config.orgs.refreshShardCount,
    });
    const tokens = createTokenStore({
      client: secretsClient,
      prefix: config.secrets.prefix,
      clock,
    });

    const metricsFile = createWriteStream(join(dataDir, 'metrics.log'), { flags: 'a' });
    cleanups.push(
      () =>
        new Promise<void>((done) => {
          metricsFile.end(() => done());
        }),
    );

    const functions = buildFunctions({
      config,
      registry,
      document: dynamo.document,
      tokens,
      secretsClient,
      sqsClient,
      eventBridgeClient,
      eventsQueueUrl: engines.eventsQueueUrl,
      deadLetterQueueUrl: engines.deadLetterQueueUrl,
      dataDir,
      clock,
      log: { level: logLevel, pretty, sink: options.logSink },
      metricsSink: (emf) => metricsFile.write(`${emf}\n`),
    });
    if (functions.missing.length > 0) {
      logger.warn('functions not in this checkout yet; local mode runs without them', {
        missing: functions.missing,
      });
    }

    // every invocation is tracked, so stop() waits for the ones in flight
    const inFlight = new Set<Promise<unknown>>();
    const invoke = (functionName: string, event: unknown): Promise<unknown> => {
      const handler: InvocableHandler | undefined = functions.invocable.get(functionName);
      if (!handler) {
        return Promise.reject(
          new LocalModeError('CONFIG_INVALID', `no local function ${functionName}`),
        );
      }
      const run = handler(event);
      inFlight.add(run);
      const forget = () => inFlight.delete(run);
      run.then(forget, forget);
      return run;
    };
    cleanups.push(async () => {
      await Promise.allSettled([...inFlight]);
    });

    const startedAt = new Date(clock()).toISOString();
    const operatorConsole = localModeConsole({
      stateFile,
      port: http.port,
      env: userEnv,
      clock,
      log: logger.createChild({ persistentKeys: { part: 'console' } }),
    });
    cleanups.push(async () => operatorConsole.close());
    http.serve({
      console: operatorConsole.handle,
      receiver: functions.receiver,
      invoke,
      functionNames: () => [...functions.invocable.keys()],
      health: () => ({
        startedAt,
        functions: [
          FUNCTION_NAMES.receiver,
          FUNCTION_NAMES.worker,
          ...functions.invocable.keys(),
        ].sort(),
        missingFunctions: functions.missing,
        sandbox: engines.sandbox !== undefined,
      }),
    });

    // ---- the demo org (first start against the sandbox), its webhook URL every start
    let demo: LocalDemo | undefined;
    let demoRecord = previous?.demo;
    if (engines.sandbox) {
      const prepared = await prepareDemo(
        {
          registry,
          tokens,
          secretsClient,
          secretPrefix: config.secrets.prefix,
          origin: http.origin,
        },
        engines.sandbox,
        demoRecord !== undefined,
      );
      demo = prepared;
      if (prepared?.registeredNow) {
        demoRecord = { orgId: prepared.orgId, registeredAt: new Date(clock()).toISOString() };
        logger.info('demo org registered', { orgId: prepared.orgId, ruleId: prepared.ruleId });
      }
    }

    // ---- tokens the sandbox can honour: it keeps no state across starts, so every token we
    // stored was issued by a sandbox that is gone. Make every active org due and run the
    // refresher once (its refresh-token grant fails there and it falls back to the password
    // grant, as it would with Tallyfy) before the worker takes queued events.
    if (engines.sandbox && functions.invocable.has(FUNCTION_NAMES.refresher)) {
      const nowIso = new Date(clock()).toISOString();
      for await (const org of registry.listOrgs({ status: 'active' })) {
        await registry.scheduleRefresh(org.orgId, nowIso);
      }
      const result = await invoke(
        FUNCTION_NAMES.refresher,
        scheduledEvent('tallyfy-local-start', clock(), region),
      );
      logger.info('tokens obtained from the sandbox', { result: summarizeRefresh(result) });
    }

    // ---- the worker behind the queue, as Lambda's SQS event source mapping
    const sourceLogger = logger.createChild({ persistentKeys: { part: 'sqs-event-source' } });
    const eventSource = startSqsEventSource({
      client: sqsClient,
      queueUrl: engines.eventsQueueUrl,
      handler: functions.worker,
      batchSize: 10,
      waitTimeSeconds: 1,
      awsRegion: region,
      onError: (error, context) =>
        sourceLogger.error('event source failure', { stage: context.stage, error }),
    });
    cleanups.push(() => eventSource.stop());

    // ---- the EventBridge rules as timers
    let schedules: Schedules | undefined;
    if (options.schedules ?? true) {
      const specs = stackSchedules(config.schedules).filter((spec) =>
        functions.invocable.has(spec.functionName),
      );
      schedules = startSchedules(specs, {
        run: invoke,
        region,
        clock,
        onError: (functionName, error) =>
          logger.error('scheduled run failed', { function: functionName, error }),
      });
      const armed = schedules;
      cleanups.push(() => armed.stop());
    }

    const urls = {
      http: http.origin,
      health: `${http.origin}/health`,
      invoke: `${http.origin}/_local/invoke`,
      webhookBase: `${http.origin}/hooks`,
      tallyfy: config.tallyfy.baseUrl,
      sandbox: engines.sandbox ? engines.sandbox.origin : null,
      console: operatorConsole.url(http.origin),
    };
    const name = (fn: string) => (functions.invocable.has(fn) ? fn : null);
    const state: LocalState = {
      version: 1,
      running: true,
      pid: process.pid,
      startedAt,
      dataDir,
      region,
      urls: {
        http: urls.http,
        health: urls.health,
        invoke: urls.invoke,
        tallyfy: urls.tallyfy,
        sandbox: urls.sandbox,
      },
      endpoints: {
        dynamodb: engines.dynamodb.endpoint,
        secretsManager: engines.secretsManager.endpoint,
        sqs: engines.sqs.endpoint,
        eventBridge: engines.eventBridge.endpoint,
      },
      outputs: {
        WebhookBaseUrl: urls.webhookBase,
        OrgsTableName: config.orgs.tableName,
        SecretPrefix: config.secrets.prefix,
        EventsQueueUrl: engines.eventsQueueUrl,
        DeadLetterQueueUrl: engines.deadLetterQueueUrl,
        EventBusName: config.bus.eventBusName,
        ArchiveDirectory: join(dataDir, 'archive'),
        ReportsDirectory: join(dataDir, 'reports'),
        TokenRefresherFunctionName: name(FUNCTION_NAMES.refresher),
        ReconcilerFunctionName: name(FUNCTION_NAMES.reconciler),
        ReporterFunctionName: name(FUNCTION_NAMES.reporter),
      },
      functions: [...functions.invocable.keys()],
      ...(demoRecord ? { demo: demoRecord } : {}),
    };
    await writeLocalState(stateFile, state);
    logger.info('local mode ready', {
      http: urls.http,
      sandbox: urls.sandbox,
      nextRuns: schedules?.nextRuns() ?? {},
    });

    let stopping: Promise<void> | undefined;
    return {
      urls,
      dataDir,
      stateFile,
      demo,
      missingFunctions: functions.missing,
      invoke,
      drainQueue: () => eventSource.drain(),
      stop() {
        stopping ??= (async () => {
          logger.info('stopping: draining work in flight');
          // webhooks in flight finish first (new ones get 503, as a draining load balancer
          // answers), then the timers, the queue poller and invocations, then the engines
          await http.close();
          await cleanup();
          await writeLocalState(stateFile, {
            ...state,
            running: false,
            stoppedAt: new Date(clock()).toISOString(),
          });
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Whether a process with this id exists (a crashed run leaves its pid in local.json). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The counts of a scheduled refresher run, for one log line (no per-org detail). */
function summarizeRefresh(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return result;
  const { due, outcomes, needsReauth } = result as Record<string, unknown>;
  return { due, outcomes, needsReauth };
}

/** Runs a config step, turning a ConfigError into the one-line `CONFIG_INVALID`. */
function configStep<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ConfigError) {
      const problems = error.issues
        .map((i) =>
          i.problem === 'unset'
            ? `${i.variable} is not set (expected ${i.expected})`
            : `${i.variable}=${JSON.stringify(i.received)} is not ${i.expected}`,
        )
        .join('; ');
      throw new LocalModeError('CONFIG_INVALID', `Invalid configuration: ${problems}.`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Stand-ins for the endpoints local mode starts, so the precheck sees a complete config. */
function placeholderEndpoints(): EnvRecord {
  const url = 'http://127.0.0.1:1';
  return {
    DYNAMODB_ENDPOINT: url,
    SECRETS_MANAGER_ENDPOINT: url,
    SQS_ENDPOINT: url,
    EVENTS_QUEUE_URL: `${url}/000000000000/events`,
    EVENTS_DLQ_URL: `${url}/000000000000/events-dlq`,
  };
}
