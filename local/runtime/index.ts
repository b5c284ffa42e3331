/**
 * Local mode as a function: `startLocalMode()` runs the whole bundle on one machine and
 * returns its URLs and a `stop()`. `local/main.ts` (`npm start`) wraps it with signals and a
 * banner; tests and the CLI's end-to-end test call it in-process. See docs/local.md.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localModeConsole } from '../../bin/console/index.ts';
import { awsClientSettings } from '../../shared/config/aws-clients.ts';
import {
  type Config,
  ConfigError,
  type EnvRecord,
  loadConfig,
  SECTION_NAMES,
  type SectionName,
} from '../../shared/config.ts';
import {
  createLogger,
  type Logger,
  type LogLevelName,
  type LogSink,
  SERVICE_NAMES,
  type TelemetryOutput,
} from '../../shared/observability/index.ts';
import {
  createOrgsDynamoClients,
  createOrgsTable,
  type OrgRegistry,
  orgRegistryFromConfig,
} from '../../shared/orgs/index.ts';
import { createTokenStore } from '../../shared/tokens/index.ts';
import type { SalvageReport } from '../persistence/index.ts';
import { startSqsEventSource } from '../sqs/index.ts';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.ts';
import { type LocalDemo, prepareDemo } from './demo.ts';
import { dynamoDbPath, type Engines, startEngines } from './engines.ts';
import { LocalModeError } from './errors.ts';
import { buildFunctions, type LocalClients, type LocalFunctions } from './functions.ts';
import { type LocalHttpServer, startLocalHttpServer } from './http-server.ts';
import { stopOrphanedDynamoDbLocal } from './orphans.ts';
import { type Schedules, scheduledEvent, stackSchedules, startSchedules } from './schedules.ts';
import { localEnv, readLocalSettings } from './settings.ts';
import { type LocalState, readPreviousRun, writeLocalState } from './state-file.ts';
import { webhooksFirst } from './webhooks-first.ts';

export type { SalvageReport } from '../persistence/index.ts';
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
  /**
   * Called when local mode stopped itself because an engine could not be kept running
   * (DynamoDB Local died more often than it may be restarted). `npm start` exits with 3.
   */
  onFatal?: (error: LocalModeError) => void;
  /** Waits before each restart of DynamoDB Local. @default [1000, 3000, 10000] */
  restartDelaysMs?: readonly number[];
}

export interface LocalMode {
  readonly urls: {
    http: string;
    health: string;
    invoke: string;
    webhookBase: string;
    tallyfy: string;
    /** The OAuth token endpoint (the sandbox's own origin, or TALLYFY_TOKEN_URL). */
    tallyfyToken: string;
    sandbox: string | null;
    /** The operator console's link (it carries a per-start token: print it, never log it). */
    console: string;
  };
  readonly dataDir: string;
  readonly stateFile: string;
  readonly demo: LocalDemo | undefined;
  /** Damaged data files found at this start: kept aside, what was kept and lost. */
  readonly salvage: readonly SalvageReport[];
  /** DynamoDB Local processes of this data directory left by a crashed run, stopped at start. */
  readonly orphansStopped: readonly number[];
  /** Runs a function in-process, as `POST /_local/invoke/<name>` does. */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /** Resolves once every message visible on the events queue now has been handled. */
  drainQueue(): Promise<void>;
  /** Stops taking work, finishes what is in flight, stops every engine. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts local mode, step by step: the plan (settings and a config precheck), the data
 * directory claim, the HTTP port (a port in use fails at once), the engines, the config with
 * their endpoints, the clients, the table, the functions, the HTTP routes, the demo org, fresh
 * sandbox tokens, the queue poller and the timers; then local.json.
 *
 * @throws LocalModeError (`LOCAL_PORT_IN_USE`, `LOCAL_ALREADY_RUNNING`, `LOCAL_JAVA_MISSING`, `LOCAL_CONFIG_INVALID`,
 *   `LOCAL_ENGINE_FAILED`, `LOCAL_DEMO_FAILED`) with a one-line message; anything started is stopped first
 * @example
 * const local = await startLocalMode({ port: 0, dataDir: '.data-test', schedules: false });
 * console.log(local.urls.webhookBase);
 * await local.stop();
 */
export async function startLocalMode(options: LocalModeOptions = {}): Promise<LocalMode> {
  const plan = planLocalMode(options);
  const claim = await claimDataDir(plan);
  let engines: Engines | undefined;
  let stopping: Promise<void> | undefined;
  const cleanups = new Cleanups(plan.logger);
  // the lock goes last, once every engine is stopped; until then a crash of this process
  // still takes DynamoDB Local and the lock with it
  cleanups.add(() => claim.lock.release());
  const exitGuard = guardExit(claim.lock, () => engines?.dynamodb.pid());
  cleanups.add(async () => exitGuard.remove());

  let http: LocalHttpServer;
  try {
    http = await startLocalHttpServer({
      port: plan.port,
      clock: plan.clock,
      onError: (message, error) => plan.logger.error(message, { error }),
    });
  } catch (error) {
    await cleanups.run();
    throw error;
  }
  cleanups.add(() => http.close());

  const stopAll = (state?: LocalState) => {
    stopping ??= (async () => {
      plan.logger.info('stopping: draining work in flight');
      // webhooks in flight finish first (new ones get 503, as a draining load balancer
      // answers), then the timers, the queue poller and invocations, then the engines
      await http.close();
      await cleanups.run();
      if (state) {
        await writeLocalState(plan.stateFile, {
          ...state,
          running: false,
          stoppedAt: new Date(plan.clock()).toISOString(),
        });
      }
      plan.logger.info('stopped');
    })();
    return stopping;
  };
  let runningState: LocalState | undefined;
  /** DynamoDB Local died more often than it may be restarted: stop, then tell the caller. */
  const engineFailed = (error: Error) => {
    const fatal = new LocalModeError(
      'LOCAL_ENGINE_FAILED',
      `DynamoDB Local ${error.message.replace(/^dynamodb /, '')}: local mode stopped. Start it again; if it keeps failing, look for a lack of memory or disk space.`,
      { cause: error },
    );
    plan.logger.error('an engine failed for good; stopping local mode', {
      engine: 'dynamodb',
      reason: fatal.message,
    });
    void stopAll(runningState).then(() => options.onFatal?.(fatal));
  };

  try {
    const started = await startEnginesStep(plan, cleanups, engineFailed, options.restartDelaysMs);
    engines = started;
    const salvage = [...claim.salvage, ...started.salvage];
    for (const report of salvage) plan.logger.warn('damaged data file salvaged', { ...report });
    const config = configStep(() => loadConfig(SECTION_NAMES, localEnvFor(plan, started)));
    const clients = createLocalClients(config, plan, cleanups);
    logBusEvents(started, plan, cleanups);
    const table = await createOrgsTable(clients.dynamoDb, config.orgs.tableName);
    if (table.created) plan.logger.info('orgs table created', { table: config.orgs.tableName });
    const functions = buildFunctions({
      config,
      clients,
      dataDir: plan.dataDir,
      telemetry: telemetryOutput(plan, cleanups),
    });
    const invoke = trackInvocations(functions, cleanups);
    const startedAt = new Date(plan.clock()).toISOString();
    const health = engineHealth(started, salvage);
    const operatorConsole = localModeConsole({
      stateFile: plan.stateFile,
      port: http.port,
      env: plan.userEnv,
      clock: plan.clock,
      log: plan.logger.createChild({ persistentKeys: { part: 'console' } }),
    });
    cleanups.add(async () => operatorConsole.close());
    http.serve({
      console: operatorConsole.handle,
      receiver: functions.receiver,
      invoke,
      functionNames: () => [...functions.invocable.keys()],
      unavailable: health.unavailable,
      health: () => ({
        startedAt,
        functions: [
          SERVICE_NAMES.receiver,
          SERVICE_NAMES.worker,
          ...functions.invocable.keys(),
        ].sort(),
        sandbox: started.sandbox !== undefined,
        ...health.report(),
      }),
    });
    const registry = orgRegistryFromConfig(config.orgs, clients.dynamo, plan.clock);
    const demo = await prepareDemoStep(
      plan,
      started,
      config,
      clients,
      registry,
      http.origin,
      claim.previousDemo,
    );
    await renewSandboxTokens(plan, started, registry, invoke);
    const drainQueue = startWorkerPoller(plan, started, clients, functions, cleanups, () =>
      http.webhooksInFlight(),
    );
    const schedules = armSchedules(plan, config, functions, invoke, cleanups);
    const urls = {
      http: http.origin,
      health: `${http.origin}/health`,
      invoke: `${http.origin}/_local/invoke`,
      webhookBase: `${http.origin}/hooks`,
      tallyfy: config.tallyfy.baseUrl,
      tallyfyToken: config.tallyfy.tokenUrl,
      sandbox: started.sandbox ? started.sandbox.origin : null,
      console: operatorConsole.url(http.origin),
    };
    const state = runningLocalState(plan, config, started, functions, urls, startedAt, demo.record);
    await writeLocalState(plan.stateFile, state);
    runningState = state;
    plan.logger.info('local mode ready', {
      http: urls.http,
      sandbox: urls.sandbox,
      nextRuns: schedules?.nextRuns() ?? {},
    });

    return {
      urls,
      dataDir: plan.dataDir,
      stateFile: plan.stateFile,
      demo: demo.demo,
      salvage,
      orphansStopped: claim.orphansStopped,
      invoke,
      drainQueue,
      stop: () => stopAll(state),
    };
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}

/** What every step reads: the options resolved against the settings, and the logger. */
interface LocalPlan {
  clock: () => number;
  userEnv: EnvRecord;
  port: number;
  dataDir: string;
  stateFile: string;
  /** TALLYFY_BASE_URL unset: run the sandbox. */
  useSandbox: boolean;
  /** SANDBOX_FRESH: the sandbox from its seed, not its saved state. */
  sandboxFresh: boolean;
  region: string;
  eventBusName: string;
  logLevel: LogLevelName;
  pretty: boolean;
  logSink: LogSink | undefined;
  schedules: boolean;
  logger: Logger;
}

/** Settings and a precheck of the whole config, before anything starts. */
function planLocalMode(options: LocalModeOptions): LocalPlan {
  const userEnv = options.env ?? {};
  const settings = configStep(() => readLocalSettings(userEnv));
  // the full config is loaded once the endpoints are known; check the rest before any start
  const precheck = configStep(() =>
    loadConfig(SECTION_NAMES, localEnv({ processEnv: userEnv }, placeholderEndpoints())),
  );
  const logLevel = precheck.log.logLevel as LogLevelName;
  const pretty = options.pretty ?? false;
  const dataDir = resolve(options.dataDir ?? settings.dataDir);
  return {
    clock: options.clock ?? Date.now,
    userEnv,
    port: options.port ?? settings.port,
    dataDir,
    stateFile: join(dataDir, 'local.json'),
    useSandbox: (userEnv.TALLYFY_BASE_URL ?? '').trim() === '',
    sandboxFresh: settings.sandboxFresh,
    region: precheck.aws.region ?? 'us-east-1',
    eventBusName: precheck.bus.eventBusName,
    logLevel,
    pretty,
    logSink: options.logSink,
    schedules: options.schedules ?? true,
    logger: createLogger({
      serviceName: 'local',
      level: logLevel,
      pretty,
      ...(options.logSink ? { sink: options.logSink } : {}),
    }),
  };
}

/** What the start found in the data directory. */
interface DataDirClaim {
  lock: DataDirLock;
  /** The previous run's demo record (it survives restarts, and a damaged local.json). */
  previousDemo: LocalState['demo'];
  /** The demo record salvaged from a damaged local.json. */
  salvage: SalvageReport[];
  orphansStopped: number[];
}

/**
 * Makes the data directory and takes its lock (one local mode per directory: two on one
 * DynamoDB Local directory corrupt it). Then, holding it, stops any DynamoDB Local a crashed
 * run left on this directory: no live local mode owns one now.
 * @throws LocalModeError `LOCAL_ALREADY_RUNNING` while another local mode holds the directory
 */
async function claimDataDir(plan: LocalPlan): Promise<DataDirClaim> {
  await mkdir(plan.dataDir, { recursive: true });
  const lock = await acquireDataDirLock(plan.dataDir, {
    clock: plan.clock,
    describeHolder: async (holder) => {
      const state = await readPreviousRun(plan.stateFile, plan.clock(), { salvage: false });
      return state.state?.pid === holder.pid ? `, ${state.state.urls.http}` : '';
    },
  });
  try {
    const previous = await readPreviousRun(plan.stateFile, plan.clock());
    const stopped = await stopOrphanedDynamoDbLocal(dynamoDbPath(plan.dataDir));
    for (const orphan of stopped) {
      plan.logger.warn('stopped a DynamoDB Local left running by a crashed local mode', {
        pid: orphan.pid,
        outcome: orphan.outcome,
        dataDir: plan.dataDir,
      });
    }
    return {
      lock,
      previousDemo: previous.demo,
      salvage: previous.salvage ? [previous.salvage] : [],
      orphansStopped: stopped.map((o) => o.pid),
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * If this process ends without `stop()` (an uncaught error, `process.exit`), DynamoDB Local
 * (its own process group) and the lock go with it. Only kill -9 leaves them; the next start
 * cleans up after that.
 */
function guardExit(lock: DataDirLock, javaPid: () => number | undefined): { remove(): void } {
  const onExit = () => {
    const pid = javaPid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    lock.releaseSync();
  };
  process.once('exit', onExit);
  return { remove: () => process.off('exit', onExit) };
}

/** What /health reports of every engine, and whether webhooks can be taken now. */
function engineHealth(
  engines: Engines,
  salvage: readonly SalvageReport[],
): { report(): Record<string, unknown>; unavailable(): string | undefined } {
  const inProcess = { state: 'up' as const };
  return {
    report: () => ({
      engines: {
        dynamodb: engines.dynamodb.status(),
        secretsManager: inProcess,
        sqs: inProcess,
        eventBridge: inProcess,
        ...(engines.sandbox
          ? { sandbox: { ...inProcess, restored: engines.sandboxRestored } }
          : {}),
      },
      dataFiles: salvage,
    }),
    unavailable() {
      const status = engines.dynamodb.status();
      if (status.state === 'up') return undefined;
      const why = status.lastExit
        ? `it exited (${status.lastExit.signal ?? `code ${status.lastExit.code}`})`
        : (status.error ?? 'it is not running');
      return status.state === 'restarting'
        ? `dynamodb is down: ${why}; restarting it`
        : `dynamodb is ${status.state}: ${why}`;
    },
  };
}

/** Stop steps, run last-added first; a failing step is logged and the others still run. */
class Cleanups {
  readonly #steps: Array<() => Promise<void>> = [];
  readonly #logger: Logger;
  constructor(logger: Logger) {
    this.#logger = logger;
  }
  add(step: () => Promise<void>): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    // taken at once: a second run (a stop while a failed start cleans up) finds nothing to do
    for (const step of this.#steps.splice(0).reverse()) {
      await step().catch((error: unknown) => this.#logger.warn('stop step failed', { error }));
    }
  }
}

async function startEnginesStep(
  plan: LocalPlan,
  cleanups: Cleanups,
  onEngineFailed: (error: Error) => void,
  restartDelaysMs: readonly number[] | undefined,
): Promise<Engines> {
  plan.logger.info('starting engines', { dataDir: plan.dataDir, sandbox: plan.useSandbox });
  if (plan.useSandbox && (plan.userEnv.TALLYFY_TOKEN_URL ?? '').trim() !== '') {
    // TALLYFY_BASE_URL unset means the sandbox, and its grants go to its own token endpoint
    plan.logger.warn(
      'TALLYFY_TOKEN_URL is ignored: TALLYFY_BASE_URL is unset, so the sandbox runs',
    );
  }
  const engines = await startEngines({
    dataDir: plan.dataDir,
    region: plan.region,
    eventBusName: plan.eventBusName,
    sandbox: plan.useSandbox,
    sandboxFresh: plan.sandboxFresh,
    clock: plan.clock,
    log: (line) => plan.logger.debug(line, { engine: 'tallyfy-sandbox' }),
    ...(restartDelaysMs ? { restartDelaysMs } : {}),
    onEngineChange: (status) => {
      if (status.state === 'restarting') {
        plan.logger.error('DynamoDB Local is down; webhooks get 503 until it is back', {
          engine: status.name,
          lastExit: status.lastExit,
          reason: status.error,
        });
      } else if (status.state === 'up') {
        plan.logger.info('DynamoDB Local is back', {
          engine: status.name,
          pid: status.pid,
          restarts: status.restarts,
        });
      }
    },
    onEngineFailed,
  });
  cleanups.add(() => engines.stop());
  return engines;
}

/** The user's environment with the endpoints of the engines just started. */
function localEnvFor(plan: LocalPlan, engines: Engines): EnvRecord {
  return localEnv(
    { processEnv: plan.userEnv },
    {
      DYNAMODB_ENDPOINT: engines.dynamodb.endpoint,
      SECRETS_MANAGER_ENDPOINT: engines.secretsManager.endpoint,
      SQS_ENDPOINT: engines.sqs.endpoint,
      EVENTBRIDGE_ENDPOINT: engines.eventBridge.endpoint,
      EVENTS_QUEUE_URL: engines.eventsQueueUrl,
      EVENTS_DLQ_URL: engines.deadLetterQueueUrl,
      // the refresher runs in this process; a Lambda name here would be unreachable
      REFRESH_REQUESTS: 'local',
      // the sandbox serves its token endpoint on an origin of its own, as Tallyfy does
      ...(engines.sandbox
        ? { TALLYFY_BASE_URL: engines.sandbox.url, TALLYFY_TOKEN_URL: engines.sandbox.tokenUrl }
        : {}),
    },
  );
}

/** One client per engine for the whole process, built as the Lambda entries build theirs. */
function createLocalClients(
  config: Config<SectionName>,
  plan: LocalPlan,
  cleanups: Cleanups,
): LocalClients & { dynamoDb: DynamoDBClient } {
  const { aws } = config;
  const dynamo = createOrgsDynamoClients(awsClientSettings(aws, 'dynamoDb', LOCAL_CREDENTIALS));
  const secretsManager = new SecretsManagerClient(
    awsClientSettings(aws, 'secretsManager', LOCAL_CREDENTIALS),
  );
  const sqs = new SQSClient(awsClientSettings(aws, 'sqs', LOCAL_CREDENTIALS));
  const eventBridge = new EventBridgeClient(
    awsClientSettings(aws, 'eventBridge', LOCAL_CREDENTIALS),
  );
  cleanups.add(async () => {
    dynamo.document.destroy();
    dynamo.client.destroy();
    secretsManager.destroy();
    sqs.destroy();
    eventBridge.destroy();
  });
  plan.logger.debug('clients ready', { region: aws.region });
  return { dynamo: dynamo.document, dynamoDb: dynamo.client, secretsManager, sqs, eventBridge };
}

/** "Event on the bus": the last step of the demo path, visible in the log. */
function logBusEvents(engines: Engines, plan: LocalPlan, cleanups: Cleanups): void {
  const busLogger = createLogger({
    serviceName: 'event-bus',
    level: plan.logLevel,
    pretty: plan.pretty,
    ...(plan.logSink ? { sink: plan.logSink } : {}),
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
  cleanups.add(async () => unsubscribe());
}

/** Every function logs as the local logger does; metrics go to DATA_DIR/metrics.log. */
function telemetryOutput(plan: LocalPlan, cleanups: Cleanups): TelemetryOutput {
  const metricsFile = createWriteStream(join(plan.dataDir, 'metrics.log'), { flags: 'a' });
  cleanups.add(
    () =>
      new Promise<void>((done) => {
        metricsFile.end(() => done());
      }),
  );
  return {
    pretty: plan.pretty,
    logSink: plan.logSink,
    metricsSink: (emf) => metricsFile.write(`${emf}\n`),
  };
}

/** Runs functions by name and tracks every invocation, so stopping waits for those in flight. */
function trackInvocations(
  functions: LocalFunctions,
  cleanups: Cleanups,
): (functionName: string, event: unknown) => Promise<unknown> {
  const inFlight = new Set<Promise<unknown>>();
  cleanups.add(async () => {
    await Promise.allSettled([...inFlight]);
  });
  return (functionName, event) => {
    const handler = functions.invocable.get(functionName);
    if (!handler) {
      return Promise.reject(
        new LocalModeError('LOCAL_CONFIG_INVALID', `no local function ${functionName}`),
      );
    }
    const run = handler(event);
    inFlight.add(run);
    const forget = () => inFlight.delete(run);
    run.then(forget, forget);
    return run;
  };
}

/** The demo org on the first start against the sandbox; its webhook URL on every start. */
async function prepareDemoStep(
  plan: LocalPlan,
  engines: Engines,
  config: Config<SectionName>,
  clients: LocalClients,
  registry: OrgRegistry,
  origin: string,
  previousDemo: LocalState['demo'],
): Promise<{ demo: LocalDemo | undefined; record: LocalState['demo'] }> {
  if (!engines.sandbox) return { demo: undefined, record: previousDemo };
  const demo = await prepareDemo(
    {
      registry,
      tokens: createTokenStore({
        client: clients.secretsManager,
        prefix: config.secrets.prefix,
        clock: plan.clock,
      }),
      secretsClient: clients.secretsManager,
      secretPrefix: config.secrets.prefix,
      origin,
    },
    engines.sandbox,
    previousDemo !== undefined,
  );
  if (!demo?.registeredNow) return { demo, record: previousDemo };
  plan.logger.info('demo org registered', { orgId: demo.orgId, ruleId: demo.ruleId });
  return {
    demo,
    record: { orgId: demo.orgId, registeredAt: new Date(plan.clock()).toISOString() },
  };
}

/**
 * Tokens the sandbox can honour. It keeps its state across starts, so stored tokens stay good;
 * but a sandbox started from its seed (first start, SANDBOX_FRESH) knows none of them. Then make
 * every active org due and run the refresher once (its refresh-token grant fails there and it
 * falls back to the password grant, as it would with Tallyfy) before the worker takes events.
 */
async function renewSandboxTokens(
  plan: LocalPlan,
  engines: Engines,
  registry: OrgRegistry,
  invoke: (functionName: string, event: unknown) => Promise<unknown>,
): Promise<void> {
  if (!engines.sandbox || engines.sandboxRestored) return;
  const nowIso = new Date(plan.clock()).toISOString();
  for await (const org of registry.listOrgs({ status: 'active' })) {
    await registry.scheduleRefresh(org.orgId, nowIso);
  }
  const result = await invoke(
    SERVICE_NAMES.refresher,
    scheduledEvent('tallyfy-local-start', plan.clock(), plan.region),
  );
  plan.logger.info('tokens obtained from the sandbox', { result: summarizeRefresh(result) });
}

/**
 * The worker behind the queue, as Lambda's SQS event source mapping.
 * @returns `drainQueue`: resolves once every message visible now has been handled
 */
function startWorkerPoller(
  plan: LocalPlan,
  engines: Engines,
  clients: LocalClients,
  functions: LocalFunctions,
  cleanups: Cleanups,
  webhooksInFlight: () => number,
): () => Promise<void> {
  const sourceLogger = plan.logger.createChild({ persistentKeys: { part: 'sqs-event-source' } });
  const yieldToWebhooks = webhooksFirst({ webhooksInFlight });
  const eventSource = startSqsEventSource({
    client: clients.sqs,
    queueUrl: engines.eventsQueueUrl,
    handler: functions.worker,
    batchSize: 10,
    waitTimeSeconds: 1,
    awsRegion: plan.region,
    // while DynamoDB Local restarts, events wait in the queue instead of failing there; and
    // while webhooks are coming in, they wait for them (webhooks-first.ts)
    whenReady: async () => {
      await engines.dynamodb.whenUp();
      await yieldToWebhooks();
    },
    onError: (error, context) =>
      sourceLogger.error('event source failure', { stage: context.stage, error }),
  });
  cleanups.add(() => eventSource.stop());
  return () => eventSource.drain();
}

/** The stack's EventBridge rules as timers (unless turned off, as tests do). */
function armSchedules(
  plan: LocalPlan,
  config: Config<SectionName>,
  functions: LocalFunctions,
  invoke: (functionName: string, event: unknown) => Promise<unknown>,
  cleanups: Cleanups,
): Schedules | undefined {
  if (!plan.schedules) return undefined;
  const specs = stackSchedules(config.schedules).filter((spec) =>
    functions.invocable.has(spec.functionName),
  );
  const schedules = startSchedules(specs, {
    run: invoke,
    region: plan.region,
    clock: plan.clock,
    onError: (functionName, error) =>
      plan.logger.error('scheduled run failed', { function: functionName, error }),
  });
  cleanups.add(() => schedules.stop());
  return schedules;
}

/** What local.json says while local mode runs: where everything is, for the CLI. */
function runningLocalState(
  plan: LocalPlan,
  config: Config<SectionName>,
  engines: Engines,
  functions: LocalFunctions,
  urls: LocalMode['urls'],
  startedAt: string,
  demo: LocalState['demo'],
): LocalState {
  return {
    version: 1,
    running: true,
    pid: process.pid,
    startedAt,
    dataDir: plan.dataDir,
    region: plan.region,
    urls: {
      http: urls.http,
      health: urls.health,
      invoke: urls.invoke,
      tallyfy: urls.tallyfy,
      tallyfyToken: urls.tallyfyToken,
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
      ArchiveDirectory: join(plan.dataDir, 'archive'),
      ReportsDirectory: join(plan.dataDir, 'reports'),
      TokenRefresherFunctionName: SERVICE_NAMES.refresher,
      ReconcilerFunctionName: SERVICE_NAMES.reconciler,
      ReporterFunctionName: SERVICE_NAMES.reporter,
    },
    functions: [...functions.invocable.keys()],
    ...(demo ? { demo } : {}),
  };
}

/** The counts of a scheduled refresher run, for one log line (no per-org detail). */
function summarizeRefresh(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return result;
  const { due, outcomes, needsReauth } = result as Record<string, unknown>;
  return { due, outcomes, needsReauth };
}

/** Runs a config step, turning a ConfigError into the one-line `LOCAL_CONFIG_INVALID`. */
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
      throw new LocalModeError('LOCAL_CONFIG_INVALID', `Invalid configuration: ${problems}.`, {
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
