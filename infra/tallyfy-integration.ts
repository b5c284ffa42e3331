/**
 * `TallyfyIntegration`: the whole integration as one construct, for our stack and for customers
 * who compose it into their own CDK app (ARCHITECTURE.md "One picture"): the stateful core
 * (orgs table, events queue + DLQ, bus, buckets, secret grants, alarm topic), the five parts
 * with their schedules and alarms, and the dashboard.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  ComparisonOperator,
  type Metric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SERVICE_NAMES, type ServiceName } from '../shared/observability/services.ts';
import { defaultTokenUrl } from '../shared/tallyfy/token-url.ts';
import { AlarmTopic } from './constructs/alarms.ts';
import { TallyfyDashboard } from './constructs/dashboard.ts';
import { EventWorker } from './constructs/event-worker.ts';
import { EventsPipeline } from './constructs/events.ts';
import {
  type FunctionLogLevel,
  TallyfyFunction,
  type TallyfyFunctionProps,
} from './constructs/function.ts';
import {
  defaultMetricsNamespace,
  type EmittedMetricName,
  partMetric,
  validateMetricsNamespace,
} from './constructs/metrics.ts';
import { grantOperatorAccess } from './constructs/operator.ts';
import { ORGS_TABLE_LOGICAL_ID, OrgsTable } from './constructs/orgs-table.ts';
import { FUNCTION_ENTRIES, TALLYFY_PARTS, type TallyfyPart } from './constructs/parts.ts';
import { Reconciler } from './constructs/reconciler.ts';
import { Reporter } from './constructs/reporter.ts';
import { SecretsAccess } from './constructs/secrets-access.ts';
import { Storage } from './constructs/storage.ts';
import { TokenRefresher } from './constructs/token-refresher.ts';
import { WebhookReceiver } from './constructs/webhook-receiver.ts';

export { TALLYFY_PARTS, type TallyfyPart };

/** How often the scheduled parts run. */
export interface TallyfySchedules {
  /**
   * Minutes between token refresher runs (1-60).
   * @default 5
   */
  readonly refreshIntervalMinutes?: number;
  /**
   * Minutes between reconciler runs (1-1440).
   * @default 15
   */
  readonly reconcileIntervalMinutes?: number;
  /**
   * Hour (UTC) of the daily report run (0-23).
   * @default 6
   */
  readonly reportHourUtc?: number;
}

/** When the refresher renews a token: remaining life < max(minSeconds, fraction x lifetime). */
export interface TallyfyRefreshMargin {
  /**
   * Lower bound of the margin, in seconds (60-86400).
   * @default 900
   */
  readonly minSeconds?: number;
  /**
   * Share of the token lifetime kept as margin (between 0 and 1, exclusive).
   * @default 0.2
   */
  readonly fraction?: number;
}

/**
 * Throttling of the webhook HTTP API (over all orgs together). A refused webhook (429) is lost:
 * Tallyfy sends each one once and never retries. So the defaults are sized for the largest
 * legitimate burst, not for flood control (the per-org URL secret is the defence; a leaked URL
 * is rotated). API Gateway's token bucket lets `burstLimit` requests through at once and
 * refills at `rateLimit` per second: N webhooks arriving within T seconds pass when
 * N <= burstLimit + rateLimit x T.
 *
 * - A bulk action completing 500 tasks in one org sends 500 webhooks within seconds; ten orgs
 *   doing so in the same second send 5,000: the defaults pass them within 3 s
 *   (2,000 + 1,000 x 3).
 * - The receiver spends ~30-60 ms per webhook (archive, enqueue, seen marker), so 1,000/s keeps
 *   ~50 functions busy; a 2,000-request burst can start up to 2,000 at once, twice Lambda's
 *   default of 1,000 per account and region: above that Lambda throttles and the API answers
 *   5xx instead of 429 (the webhook is lost either way), so raising `burstLimit` past the
 *   account's Lambda concurrency gains nothing.
 * - The account's API Gateway quota (10,000/s, burst 5,000; 2,500/s, burst 1,250 in newer
 *   regions) caps every stage of every API in the region together.
 *
 * docs/scaling.md has the figures per number of orgs.
 */
export interface TallyfyWebhookThrottle {
  /**
   * Steady-state requests per second (1-10000).
   * @default 1000
   */
  readonly rateLimit?: number;
  /**
   * Requests accepted at once: the token bucket's size (1-10000).
   * @default 2000
   */
  readonly burstLimit?: number;
}

/** Default stage throttling of the webhook API (see {@link TallyfyWebhookThrottle}). */
export const DEFAULT_WEBHOOK_THROTTLE = Object.freeze({ rateLimit: 1000, burstLimit: 2000 });

/**
 * Default reserved concurrency of the token refresher: one scheduled run and four on-demand
 * refresh requests at once, whatever else the account runs (webhook bursts, a worker backlog).
 */
export const DEFAULT_REFRESHER_RESERVED_CONCURRENCY = 5;

/** Thresholds of the alarms that have one (docs/operations.md). */
export interface TallyfyAlarmThresholds {
  /**
   * Events the reconciler may recover in one hour before it alarms (each one is a webhook
   * Tallyfy sent that never reached us, or never was sent).
   * @default 10
   */
  readonly recoveredEventsPerHour?: number;
  /**
   * Alarm when, after a refresher run, a due org's token has less than this many seconds left
   * (the refresher should have renewed it at `refreshMargin`).
   * @default - half of `refreshMargin.minSeconds`
   */
  readonly soonestTokenExpirySeconds?: number;
  /**
   * Alarm when the oldest event in the queue is older than this for 15 minutes.
   * @default Duration.minutes(15)
   */
  readonly maxEventAge?: Duration;
}

/** Memory and timeout of one part's function. */
export interface TallyfyFunctionSize {
  /**
   * Memory in MiB (128-10240).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Timeout (not for the event worker: use `workerTimeout`, which also sizes the queue).
   * @default - refresher 2 min, receiver 10 s, reconciler 5 min, reporter 15 min
   */
  readonly timeout?: Duration;
}

/** Properties of {@link TallyfyIntegration}. */
export interface TallyfyIntegrationProps {
  /**
   * Name prefix of the per-org secrets: `<prefix>/orgs/<orgId>/{credentials,token}`. A second
   * integration in the same stack needs its own.
   * @default `tallyfy-serverless/<stack name>`
   */
  readonly secretPrefix?: string;
  /**
   * Tallyfy API root the functions call (TALLYFY_BASE_URL).
   * @default 'https://go.tallyfy.com/api'
   */
  readonly tallyfyBaseUrl?: string;
  /**
   * Tallyfy's OAuth token endpoint the refresher posts grants to (TALLYFY_TOKEN_URL). Tallyfy
   * serves it on its own host, not under the API root; an org registered with its own
   * `tokenUrl` uses that instead.
   * @default derived from `tallyfyBaseUrl`: 'https://account.tallyfy.com/oauth/token' for
   * go.tallyfy.com and api.tallyfy.com; required for any other API root
   */
  readonly tallyfyTokenUrl?: string;
  /**
   * Customer managed KMS key for the table, queues, buckets and secrets. Its key policy must
   * let this account's IAM policies use it (the default key policy does).
   * @default - AWS managed or service owned encryption everywhere
   */
  readonly encryptionKey?: IKey;
  /**
   * Physical name of the orgs table.
   * @default - generated by CloudFormation
   */
  readonly tableName?: string;
  /**
   * CloudFormation logical id of the orgs table, pinned so that moving the construct never
   * replaces the table. A second integration in the same stack needs its own.
   * @default 'OrgsTable'
   */
  readonly orgsTableLogicalId?: string;
  /**
   * CloudWatch namespace every function writes its metrics to (POWERTOOLS_METRICS_NAMESPACE)
   * and every alarm and dashboard widget reads: one per deployment, so two deployments in one
   * account and region never add up each other's figures. A second integration in the same
   * stack needs its own.
   * @default `TallyfyServerless/<stack name>`
   */
  readonly metricsNamespace?: string;
  /**
   * Name of the EventBridge bus.
   * @default - generated from the construct path
   */
  readonly eventBusName?: string;
  /**
   * Name of the raw webhook archive bucket.
   * @default - generated by CloudFormation
   */
  readonly archiveBucketName?: string;
  /**
   * Name of the reports bucket.
   * @default - generated by CloudFormation
   */
  readonly reportsBucketName?: string;
  /**
   * Days before archived webhooks move to Glacier Instant Retrieval (bodies of 128 KB and more;
   * smaller ones stay in S3 Standard: S3 lifecycle does not transition them by default).
   * @default 30
   */
  readonly archiveTransitionDays?: number;
  /**
   * Days before archived webhooks are deleted (more than `archiveTransitionDays`).
   * @default 365
   */
  readonly archiveExpirationDays?: number;
  /**
   * Keep an EventBridge archive of normalized events for this many days (0 = forever).
   * @default - no archive
   */
  readonly busArchiveRetentionDays?: number;
  /**
   * Removal policy of the stateful resources (table, queues, buckets, log groups).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Retention of every function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * LOG_LEVEL of every function.
   * @default 'INFO'
   */
  readonly logLevel?: FunctionLogLevel;
  /**
   * Partitions of the `byRefreshDue` index (REFRESH_SHARD_COUNT, 1-100); lowering it strands
   * orgs in the dropped shards, so change it only with a re-shard.
   * @default 4
   */
  readonly refreshShardCount?: number;
  /**
   * Schedules of the refresher, reconciler and reporter.
   * @default - every 5 min, every 15 min, daily at 06:00 UTC
   */
  readonly schedules?: TallyfySchedules;
  /**
   * Token refresh margin.
   * @default - max(900 s, 20% of the lifetime)
   */
  readonly refreshMargin?: TallyfyRefreshMargin;
  /**
   * Timeout of the event worker; sizes the events queue's visibility timeout (6x).
   * @default Duration.seconds(120)
   */
  readonly workerTimeout?: Duration;
  /**
   * Reserved concurrency per part (merged over the default). The refresher's keeps webhook
   * bursts and worker backlogs from starving token refreshes; the worker's, when given (at
   * least 2), also becomes its SQS event source's `maxConcurrency`, so a poll is never
   * throttled into an extra receive. Reservations need the account's Lambda concurrency quota
   * to stay 100 above their sum (new accounts with a quota of 10 must raise it first).
   * @default - `{ 'token-refresher': 5 }`; the worker unreserved, its event source capped at 50
   */
  readonly reservedConcurrency?: Partial<Record<TallyfyPart, number>>;
  /**
   * E-mail address notified of alarms.
   * @default - no e-mail subscription
   */
  readonly alarmEmail?: string;
  /**
   * Existing SNS topic to send alarms to, instead of a new one.
   * @default - a new topic
   */
  readonly alarmTopicArn?: string;
  /**
   * Alarm thresholds.
   * @default - see {@link TallyfyAlarmThresholds}
   */
  readonly alarmThresholds?: TallyfyAlarmThresholds;
  /**
   * Throttling of the webhook API (sizing: {@link TallyfyWebhookThrottle}).
   * @default - 1,000 requests/s, burst 2,000
   */
  readonly webhookThrottle?: TallyfyWebhookThrottle;
  /**
   * Memory and timeout per part.
   * @default - see {@link TallyfyFunctionSize}
   */
  readonly functionSizes?: Partial<Record<TallyfyPart, TallyfyFunctionSize>>;
  /**
   * Handler module per part, for a module of yours that wraps ours, such as an event worker
   * entry registering code-level automations. It must export `handler`.
   * @default - `functions/<part>/index.ts` of this package
   */
  readonly entries?: Partial<Record<TallyfyPart, string>>;
  /**
   * Name of the CloudWatch dashboard.
   * @default - generated
   */
  readonly dashboardName?: string;
}

/** Options of {@link TallyfyIntegration.addFunction}: the function's props, minus the shared ones. */
export interface AddFunctionOptions
  extends Omit<
    TallyfyFunctionProps,
    'serviceName' | 'logRetention' | 'logRemovalPolicy' | 'metricsNamespace'
  > {
  /** Which part of the architecture the function is. */
  readonly part: TallyfyPart;
  /**
   * The construct the function is created in.
   * @default - the integration
   */
  readonly scope?: Construct;
}

/** Resolved schedules (every field set). */
export type ResolvedSchedules = Required<TallyfySchedules>;
/** Resolved refresh margin (every field set). */
export type ResolvedRefreshMargin = Required<TallyfyRefreshMargin>;

/**
 * The stateful core (orgs table, events queue + DLQ, bus, buckets, secret grants, alarm topic),
 * the five parts (token refresher, webhook receiver + HTTP API, event worker, reconciler,
 * reporter) with their schedules and alarms, the dashboard, and a factory for more functions
 * over the same core. Grants (`grantOperator`) and metrics (`metric…`) in the CDK style.
 *
 * Several integrations may share a stack when each has its own `secretPrefix`,
 * `metricsNamespace` and `orgsTableLogicalId`; a clash fails at construction naming them.
 *
 * @example
 * const tallyfy = new TallyfyIntegration(this, 'Tallyfy', {
 *   alarmEmail: 'ops@example.com',
 *   schedules: { reportHourUtc: 5 },
 * });
 * tallyfy.grantOperator(opsRole);
 * new CfnOutput(this, 'WebhookBaseUrl', { value: tallyfy.webhookBaseUrl });
 */
export class TallyfyIntegration extends Construct {
  /** Orgs, rules, watermarks and event items. */
  readonly orgs: OrgsTable;
  /** Events queue, dead letters, failed asynchronous invocations and bus. */
  readonly events: EventsPipeline;
  /** Raw webhook archive, reports, access logs. */
  readonly storage: Storage;
  /** Grants on the per-org secrets (the IAM split). */
  readonly secrets: SecretsAccess;
  /** Where alarms go. */
  readonly alarms: AlarmTopic;
  /** Tallyfy API root given to the functions. */
  readonly tallyfyBaseUrl: string;
  /** Tallyfy's OAuth token endpoint given to the functions. */
  readonly tallyfyTokenUrl: string;
  /** CloudWatch namespace of every function's metrics (and of every alarm on them). */
  readonly metricsNamespace: string;
  /** Partitions of the byRefreshDue index. */
  readonly refreshShardCount: number;
  /** Schedules of the scheduled parts. */
  readonly schedules: ResolvedSchedules;
  /** Token refresh margin. */
  readonly refreshMargin: ResolvedRefreshMargin;
  /** Reserved concurrency per part, defaults included. */
  readonly reservedConcurrency: Readonly<Partial<Record<TallyfyPart, number>>>;
  /** The scheduled token refresher. */
  readonly refresher: TokenRefresher;
  /** The webhook HTTP API and its function. */
  readonly receiver: WebhookReceiver;
  /** The events queue consumer. */
  readonly worker: EventWorker;
  /** The scheduled reconciler. */
  readonly reconciler: Reconciler;
  /** The daily reporter. */
  readonly reporter: Reporter;
  /** The dashboard. */
  readonly dashboard: TallyfyDashboard;
  /** `https://…/hooks`: an org's webhook URL is this plus `/<orgId>/<secret>`. */
  readonly webhookBaseUrl: string;
  /** Every alarm so far, including later `addFunction`/`addAlarm` ones (the dashboard shows them). */
  readonly alarmList: Alarm[] = [];

  private readonly props: TallyfyIntegrationProps;

  constructor(scope: Construct, id: string, props: TallyfyIntegrationProps = {}) {
    super(scope, id);
    this.props = props;
    this.tallyfyBaseUrl = validateBaseUrl(props.tallyfyBaseUrl ?? 'https://go.tallyfy.com/api');
    this.tallyfyTokenUrl = validateTokenUrl(props.tallyfyTokenUrl, this.tallyfyBaseUrl);
    this.refreshShardCount = integerIn('refreshShardCount', props.refreshShardCount ?? 4, 1, 100);
    this.schedules = {
      refreshIntervalMinutes: integerIn(
        'schedules.refreshIntervalMinutes',
        props.schedules?.refreshIntervalMinutes ?? 5,
        1,
        60,
      ),
      reconcileIntervalMinutes: integerIn(
        'schedules.reconcileIntervalMinutes',
        props.schedules?.reconcileIntervalMinutes ?? 15,
        1,
        1440,
      ),
      reportHourUtc: integerIn(
        'schedules.reportHourUtc',
        props.schedules?.reportHourUtc ?? 6,
        0,
        23,
      ),
    };
    const fraction = props.refreshMargin?.fraction ?? 0.2;
    if (!(fraction > 0 && fraction < 1)) {
      throw new Error(
        `TallyfyIntegration: refreshMargin.fraction must be between 0 and 1 (exclusive), got ${fraction}`,
      );
    }
    this.refreshMargin = {
      minSeconds: integerIn(
        'refreshMargin.minSeconds',
        props.refreshMargin?.minSeconds ?? 900,
        60,
        86_400,
      ),
      fraction,
    };
    if (this.schedules.refreshIntervalMinutes * 60 >= this.refreshMargin.minSeconds) {
      throw new Error(
        `TallyfyIntegration: schedules.refreshIntervalMinutes (${this.schedules.refreshIntervalMinutes} min) must be shorter than refreshMargin.minSeconds (${this.refreshMargin.minSeconds} s), or a token can expire between two refresher runs`,
      );
    }
    for (const [part, value] of Object.entries(props.reservedConcurrency ?? {})) {
      checkPart('reservedConcurrency', part);
      integerIn(`reservedConcurrency.${part}`, value, 0, 10_000);
    }
    this.reservedConcurrency = Object.freeze({
      [SERVICE_NAMES.refresher]: DEFAULT_REFRESHER_RESERVED_CONCURRENCY,
      ...props.reservedConcurrency,
    });
    const workerReserved = this.reservedConcurrency[SERVICE_NAMES.worker];
    if (workerReserved !== undefined && workerReserved < 2) {
      throw new Error(
        `TallyfyIntegration: reservedConcurrency.event-worker must be at least 2, got ${workerReserved}: the events queue's maxConcurrency follows it (2 at least), and a worker that cannot run sends every message to the dead-letter queue after 5 throttled receives`,
      );
    }
    if (
      props.logRetention !== undefined &&
      !Object.values(RetentionDays).includes(props.logRetention)
    ) {
      throw new Error(
        `TallyfyIntegration: logRetention must be a RetentionDays value, got ${props.logRetention}`,
      );
    }

    // validate every prop before creating anything, so a mistake costs no bundling
    const webhookThrottle = {
      rateLimit: integerIn(
        'webhookThrottle.rateLimit',
        props.webhookThrottle?.rateLimit ?? DEFAULT_WEBHOOK_THROTTLE.rateLimit,
        1,
        10_000,
      ),
      burstLimit: integerIn(
        'webhookThrottle.burstLimit',
        props.webhookThrottle?.burstLimit ?? DEFAULT_WEBHOOK_THROTTLE.burstLimit,
        1,
        10_000,
      ),
    };
    for (const part of Object.keys(props.entries ?? {})) checkPart('entries', part);
    for (const [part, size] of Object.entries(props.functionSizes ?? {})) {
      checkPart('functionSizes', part);
      if (part === SERVICE_NAMES.worker && size?.timeout !== undefined) {
        throw new Error(
          'TallyfyIntegration: functionSizes.event-worker.timeout is not allowed; set workerTimeout (it also sizes the queue visibility timeout)',
        );
      }
    }
    const thresholds = props.alarmThresholds ?? {};
    const soonestExpiry = integerIn(
      'alarmThresholds.soonestTokenExpirySeconds',
      thresholds.soonestTokenExpirySeconds ?? Math.floor(this.refreshMargin.minSeconds / 2),
      1,
      this.refreshMargin.minSeconds,
    );
    const recoveredPerHour = integerIn(
      'alarmThresholds.recoveredEventsPerHour',
      thresholds.recoveredEventsPerHour ?? 10,
      0,
      1_000_000,
    );
    this.metricsNamespace = validateMetricsNamespace(
      'TallyfyIntegration: metricsNamespace',
      props.metricsNamespace ?? defaultMetricsNamespace(this),
    );
    const secretPrefix = props.secretPrefix ?? `tallyfy-serverless/${Stack.of(this).stackName}`;
    claimDeploymentNames(this, {
      secretPrefix,
      metricsNamespace: this.metricsNamespace,
      orgsTableLogicalId: props.orgsTableLogicalId ?? ORGS_TABLE_LOGICAL_ID,
    });

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const encryptionKey = props.encryptionKey;

    this.orgs = new OrgsTable(this, 'Orgs', {
      tableName: props.tableName,
      encryptionKey,
      removalPolicy,
      logicalId: props.orgsTableLogicalId,
    });
    this.events = new EventsPipeline(this, 'Events', {
      workerTimeout: props.workerTimeout,
      encryptionKey,
      eventBusName: props.eventBusName,
      busArchiveRetentionDays: props.busArchiveRetentionDays,
      removalPolicy,
    });
    this.storage = new Storage(this, 'Storage', {
      archiveBucketName: props.archiveBucketName,
      reportsBucketName: props.reportsBucketName,
      archiveTransitionDays: props.archiveTransitionDays,
      archiveExpirationDays: props.archiveExpirationDays,
      encryptionKey,
      removalPolicy,
    });
    this.secrets = new SecretsAccess(this, 'Secrets', { prefix: secretPrefix, encryptionKey });
    this.alarms = new AlarmTopic(this, 'Alarms', {
      topicArn: props.alarmTopicArn,
      email: props.alarmEmail,
    });
    this.alarmList.push(
      this.alarms.alarm(this.alarms, 'DeadLetters', this.metricDeadLetters(), {
        description:
          'Events wait in the dead-letter queue (permanent failures, or 5 failed receives): inspect and replay them (docs/operations.md#dead-letters).',
        threshold: 0,
      }),
      this.alarms.alarm(this.alarms, 'FailedInvocations', this.metricFailedInvocations(), {
        description:
          'A scheduled run or a refresh request failed after Lambda retried it: read the failure record, fix the cause, delete it (docs/operations.md#failed-invocations).',
        threshold: 0,
      }),
    );

    const entry = (part: TallyfyPart) => props.entries?.[part] ?? FUNCTION_ENTRIES[part];
    const size = (part: TallyfyPart) => props.functionSizes?.[part] ?? {};

    this.refresher = new TokenRefresher(this, 'TokenRefresher', {
      integration: this,
      entry: entry(SERVICE_NAMES.refresher),
      intervalMinutes: this.schedules.refreshIntervalMinutes,
      soonestExpiryAlarmSeconds: soonestExpiry,
      ...size(SERVICE_NAMES.refresher),
    });
    const refresherFunction = this.refresher.fn.function;
    this.receiver = new WebhookReceiver(this, 'WebhookReceiver', {
      integration: this,
      entry: entry(SERVICE_NAMES.receiver),
      ...webhookThrottle,
      logRetention: props.logRetention,
      removalPolicy,
      ...size(SERVICE_NAMES.receiver),
    });
    this.webhookBaseUrl = this.receiver.webhookBaseUrl;
    this.worker = new EventWorker(this, 'EventWorker', {
      integration: this,
      entry: entry(SERVICE_NAMES.worker),
      refresher: refresherFunction,
      maxEventAge: thresholds.maxEventAge,
      memorySize: size(SERVICE_NAMES.worker).memorySize,
    });
    this.reconciler = new Reconciler(this, 'Reconciler', {
      integration: this,
      entry: entry(SERVICE_NAMES.reconciler),
      refresher: refresherFunction,
      intervalMinutes: this.schedules.reconcileIntervalMinutes,
      recoveredEventsPerHourThreshold: recoveredPerHour,
      ...size(SERVICE_NAMES.reconciler),
    });
    this.reporter = new Reporter(this, 'Reporter', {
      integration: this,
      entry: entry(SERVICE_NAMES.reporter),
      refresher: refresherFunction,
      hourUtc: this.schedules.reportHourUtc,
      ...size(SERVICE_NAMES.reporter),
    });
    this.alarmList.push(
      this.refresher.failuresAlarm,
      this.refresher.heartbeatAlarm,
      this.refresher.needsReauthAlarm,
      this.refresher.soonestExpiryAlarm,
      this.receiver.serverErrorAlarm,
      this.receiver.throttledAlarm,
      this.worker.backlogAlarm,
      this.reconciler.recoveriesAlarm,
      this.reconciler.rescuesAlarm,
      this.reconciler.failuresAlarm,
      this.reporter.failuresAlarm,
    );
    this.dashboard = new TallyfyDashboard(this, 'Dashboard', {
      integration: this,
      alarms: this.alarmList,
      dashboardName: props.dashboardName,
    });
  }

  /**
   * Adds one part's function with the integration's shared settings: log retention and level,
   * removal policy of its logs, the metrics namespace, reserved concurrency of its part,
   * TALLYFY_BASE_URL, TALLYFY_TOKEN_URL and REFRESH_SHARD_COUNT (plus the refresh margin for the token refresher),
   * and an alarm on its errors, shown on the dashboard even when added after construction.
   * Caller's `environment` is merged over these. Bind resources on the result.
   */
  addFunction(id: string, options: AddFunctionOptions): TallyfyFunction {
    const { part, environment, scope, ...rest } = options;
    const fn = new TallyfyFunction(scope ?? this, id, {
      ...rest,
      serviceName: part,
      logRetention: this.props.logRetention,
      logLevel: rest.logLevel ?? this.props.logLevel,
      logRemovalPolicy: this.props.removalPolicy,
      metricsNamespace: this.metricsNamespace,
      reservedConcurrentExecutions:
        rest.reservedConcurrentExecutions ?? this.reservedConcurrency[part],
      environment: { ...this.partEnvironment(part), ...environment },
    });
    this.addAlarm(
      fn.function.metricErrors({ period: Duration.minutes(5) }).createAlarm(fn, 'ErrorsAlarm', {
        alarmDescription: `The ${part} function failed (uncaught errors or timeouts); see docs/operations.md#function-errors.`,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    return fn;
  }

  /** Sends `alarm` to the alarm topic (ALARM and OK) and shows it on the dashboard. */
  addAlarm(alarm: Alarm): Alarm {
    this.alarmList.push(this.alarms.notify(alarm));
    return alarm;
  }

  /**
   * Grants `grantee` (an operator role, user or group) what the CLI (`--stack`) and the operator
   * console do against this integration: describe the stack, the orgs table, create/read/write/
   * delete the org secrets, dead letters and replays, invoking the refresher, reconciler and
   * reporter, reading reports; the customer key only through those services.
   *
   * @example
   * tallyfy.grantOperator(Role.fromRoleName(this, 'Ops', 'tallyfy-operators'));
   */
  grantOperator(grantee: IGrantable): Grant {
    return grantOperatorAccess(this, grantee, {
      orgs: this.orgs,
      secrets: this.secrets,
      eventsQueue: this.events.queue,
      deadLetterQueue: this.events.deadLetterQueue,
      reportsBucket: this.storage.reportsBucket,
      archiveBucket: this.storage.archiveBucket,
      functions: [
        this.refresher.fn.function,
        this.reconciler.fn.function,
        this.reporter.fn.function,
      ],
    });
  }

  /**
   * One metric a function of this integration emits, in its namespace with the `service`
   * dimension: Sum per 5 minutes unless `props` says otherwise.
   *
   * @example
   * tallyfy.metric('event-worker', 'ActionsFailed', { period: Duration.hours(1) });
   */
  metric(service: ServiceName, name: EmittedMetricName, props?: MetricOptions): Metric {
    return partMetric(service, name, {
      namespace: this.metricsNamespace,
      statistic: 'Sum',
      period: Duration.minutes(5),
    }).with(props ?? {});
  }

  /** Lost webhooks the reconciler recovered (`EventsRecovered`). Sum per hour. */
  metricEventsRecovered(props?: MetricOptions): Metric {
    return this.metric(SERVICE_NAMES.reconciler, 'EventsRecovered', {
      period: Duration.hours(1),
      ...props,
    });
  }

  /** Orgs in `needs_reauth` (a gauge the refresher emits every scheduled run). Maximum. */
  metricOrgsNeedingReauth(props?: MetricOptions): Metric {
    return this.metric(SERVICE_NAMES.refresher, 'OrgsNeedingReauth', {
      statistic: 'Maximum',
      period: Duration.minutes(this.schedules.refreshIntervalMinutes),
      ...props,
    });
  }

  /** Messages waiting in the dead-letter queue. Maximum per 5 minutes. */
  metricDeadLetters(props?: MetricOptions): Metric {
    return this.events.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Failure records of asynchronous invocations waiting to be read. Maximum per 5 minutes. */
  metricFailedInvocations(props?: MetricOptions): Metric {
    return this.events.failedInvocations.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Webhooks the API refused with 429 (stage throttling): lost. Sum per 5 minutes. */
  metricWebhooksThrottled(props?: MetricOptions): Metric {
    return this.receiver.metricThrottled(props);
  }

  private partEnvironment(part: TallyfyPart): Record<string, string> {
    const common = {
      TALLYFY_BASE_URL: this.tallyfyBaseUrl,
      TALLYFY_TOKEN_URL: this.tallyfyTokenUrl,
      REFRESH_SHARD_COUNT: String(this.refreshShardCount),
    };
    if (part !== SERVICE_NAMES.refresher) return common;
    return {
      ...common,
      REFRESH_MARGIN_MIN_SECONDS: String(this.refreshMargin.minSeconds),
      REFRESH_MARGIN_FRACTION: String(this.refreshMargin.fraction),
    };
  }
}

/** The names that must differ between integrations of one stack. */
interface DeploymentNames {
  readonly secretPrefix: string;
  readonly metricsNamespace: string;
  readonly orgsTableLogicalId: string;
}

/** Per stack: which integration (construct path) holds each name. */
const claimedNames = new WeakMap<Stack, Map<string, string>>();

/**
 * Records the integration's per-deployment names for its stack, and fails naming every prop
 * that clashes with an integration already in the stack: two integrations sharing them would
 * share secrets, mix their metrics, or collide on the table's logical id.
 */
function claimDeploymentNames(integration: Construct, names: DeploymentNames): void {
  const stack = Stack.of(integration);
  const claimed = claimedNames.get(stack) ?? new Map<string, string>();
  const clashes = Object.entries(names).flatMap(([prop, value]) => {
    const holder = claimed.get(`${prop}=${value}`);
    return holder === undefined ? [] : [`${prop} "${value}" (already used by ${holder})`];
  });
  if (clashes.length > 0) {
    throw new Error(
      `TallyfyIntegration: ${integration.node.path} is the second integration in stack ${stack.stackName} with ${clashes.join(', ')}; give each integration of a stack its own secretPrefix, metricsNamespace and orgsTableLogicalId`,
    );
  }
  for (const [prop, value] of Object.entries(names)) {
    claimed.set(`${prop}=${value}`, integration.node.path);
  }
  claimedNames.set(stack, claimed);
}

function checkPart(prop: string, part: string): void {
  if (!(TALLYFY_PARTS as readonly string[]).includes(part)) {
    throw new Error(
      `TallyfyIntegration: ${prop} has unknown part "${part}"; expected one of ${TALLYFY_PARTS.join(', ')}`,
    );
  }
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `TallyfyIntegration: ${name} must be a whole number from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

function validateTokenUrl(value: string | undefined, baseUrl: string): string {
  if (value === undefined) {
    const derived = defaultTokenUrl(baseUrl);
    if (derived === undefined) {
      throw new Error(
        `TallyfyIntegration: tallyfyTokenUrl is required: tallyfyBaseUrl (${new URL(baseUrl).origin}) is not one of Tallyfy's API hosts, so the token endpoint cannot be derived from it`,
      );
    }
    return derived;
  }
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password) {
    throw new Error(
      `TallyfyIntegration: tallyfyTokenUrl must be an http(s) URL without credentials, got "${url ? url.origin : value}"`,
    );
  }
  return value;
}

function validateBaseUrl(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password) {
    throw new Error(
      `TallyfyIntegration: tallyfyBaseUrl must be an http(s) URL without credentials, got "${url ? url.origin : value}"`,
    );
  }
  return value.replace(/\/+$/, '');
}
