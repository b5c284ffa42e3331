/**
 * Deployment settings: CDK context keys `tallyfy:<name>` (cdk.json, or `-c tallyfy:<name>=…`),
 * validated with zod. Every problem is reported at once, naming the context key, and unknown
 * `tallyfy:` keys are rejected so a typo never silently falls back to a default.
 *
 * docs/deploy.md lists every key; a test keeps that table and {@link SETTINGS_SCHEMA} in step.
 */

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import * as z from 'zod';
import { MAX_SECRET_PREFIX_LENGTH } from '../shared/secret-names.ts';
import { defaultTokenUrl } from '../shared/tallyfy/token-url.ts';
import { TALLYFY_PARTS } from './constructs/parts.ts';
import type { TallyfyStackProps } from './stack.ts';
import { DEFAULT_WEBHOOK_THROTTLE } from './tallyfy-integration.ts';

/** Prefix of every context key this app reads. */
export const CONTEXT_PREFIX = 'tallyfy:';

/** CloudWatch Logs' allowed retention periods, in days. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** `-c key=value` hands strings to the app: read numbers from them, leave others to fail. */
const fromText = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))
    ? Number(value)
    : value;

const integer = (min: number, max: number) =>
  z.preprocess(fromText, z.number().int().min(min).max(max));

const jsonObject = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    // left as the string: the object schema below reports it as "expected object"
    return value;
  }
};

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');

/** Every setting: its schema, default, and (through `describe`) its meaning for the docs. */
export const SETTINGS_SCHEMA = z
  .object({
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name')
      .default('TallyfyServerless')
      .describe('CloudFormation stack name'),
    secretPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*$/, 'a Secrets Manager name prefix')
      .max(
        MAX_SECRET_PREFIX_LENGTH,
        `at most ${MAX_SECRET_PREFIX_LENGTH} characters, so the longest org id and signing key names fit Secrets Manager's 512`,
      )
      .optional()
      .describe('Prefix of the per-org secrets (default `tallyfy-serverless/<stackName>`)'),
    tallyfyBaseUrl: z
      .url({ protocol: /^https?$/ })
      .default('https://go.tallyfy.com/api')
      .describe('Tallyfy API root'),
    tokenUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        "Tallyfy's OAuth token endpoint (TALLYFY_TOKEN_URL; default derived from tallyfyBaseUrl: https://account.tallyfy.com/oauth/token for go.tallyfy.com and api.tallyfy.com; required for other API roots)",
      ),
    refreshIntervalMinutes: integer(1, 60).default(5).describe('Minutes between refresher runs'),
    reconcileIntervalMinutes: integer(1, 1440)
      .default(15)
      .describe('Minutes between reconciler runs'),
    reportHourUtc: integer(0, 23).default(6).describe('Hour (UTC) of the daily report'),
    refreshMarginMinSeconds: integer(60, 86_400)
      .default(900)
      .describe('Refresh when remaining life < max(this, fraction x lifetime)'),
    refreshMarginFraction: z
      .preprocess(fromText, z.number().gt(0).lt(1))
      .default(0.2)
      .describe('Share of the token lifetime kept as refresh margin'),
    refreshShardCount: integer(1, 100)
      .default(4)
      .describe('Partitions of the byRefreshDue index; change only with a re-shard'),
    workerTimeoutSeconds: integer(1, 900)
      .default(120)
      .describe('Event worker timeout; the queue visibility timeout is 6x this'),
    reservedConcurrency: z
      .preprocess(jsonObject, z.partialRecord(z.enum(TALLYFY_PARTS), z.number().int().min(0)))
      .optional()
      .describe(
        'Reserved concurrency per part, merged over `{"token-refresher": 5}`, e.g. `{"event-worker": 20}` (also the worker queue\'s maxConcurrency; at least 2)',
      ),
    alarmEmail: z.email().optional().describe('E-mail address notified of alarms'),
    alarmTopicArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
        'an SNS topic ARN',
      )
      .optional()
      .describe('Existing SNS topic for alarms (instead of a new one)'),
    kmsKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'a KMS key ARN')
      .optional()
      .describe('Customer managed KMS key for table, queues, buckets, secrets'),
    logRetentionDays: z
      .preprocess(
        fromText,
        z.number().refine((days) => (RETENTION_DAYS as readonly number[]).includes(days), {
          message: `expected one of ${RETENTION_DAYS.join(', ')}`,
        }),
      )
      .default(30)
      .describe(`Function log retention in days (${RETENTION_DAYS.join(', ')})`),
    logLevel: z
      .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'])
      .default('INFO')
      .describe('LOG_LEVEL of every function'),
    removalPolicy: z
      .enum(['retain', 'destroy'])
      .default('retain')
      .describe('What happens to data when the stack is deleted'),
    tableName: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name')
      .optional()
      .describe('Orgs table name (default generated)'),
    eventBusName: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,256}$/, 'an EventBridge bus name')
      .optional()
      .describe('EventBridge bus name (default generated)'),
    archiveBucketName: bucketName
      .optional()
      .describe('Webhook archive bucket name (default generated)'),
    reportsBucketName: bucketName.optional().describe('Reports bucket name (default generated)'),
    archiveTransitionDays: integer(1, 3650)
      .default(30)
      .describe('Days before archived webhooks move to Glacier Instant Retrieval'),
    archiveExpirationDays: integer(2, 36_500)
      .default(365)
      .describe('Days before archived webhooks are deleted'),
    busArchiveRetentionDays: integer(0, 36_500)
      .optional()
      .describe('Keep an EventBridge archive for this many days (0 = forever; unset = none)'),
    webhookRateLimit: integer(1, 10_000)
      .default(DEFAULT_WEBHOOK_THROTTLE.rateLimit)
      .describe(
        'Webhook API steady-state requests per second (all orgs); a refused webhook is lost',
      ),
    webhookBurstLimit: integer(1, 10_000)
      .default(DEFAULT_WEBHOOK_THROTTLE.burstLimit)
      .describe('Webhook API requests accepted at once (token bucket size)'),
    functionMemoryMb: z
      .preprocess(
        jsonObject,
        z.partialRecord(z.enum(TALLYFY_PARTS), z.number().int().min(128).max(10_240)),
      )
      .optional()
      .describe('Memory (MiB) per part, e.g. `{"reporter": 2048}`'),
    recoveredEventsAlarmThreshold: integer(0, 1_000_000)
      .default(10)
      .describe('Alarm when the reconciler recovers more events than this in an hour'),
    soonestExpiryAlarmSeconds: integer(1, 86_400)
      .optional()
      .describe(
        "Alarm when an active org's token has less than this left (default: half of refreshMarginMinSeconds)",
      ),
    maxEventAgeMinutes: integer(1, 1440)
      .default(15)
      .describe('Alarm when the oldest queued event is older than this'),
    dashboardName: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,255}$/, 'a CloudWatch dashboard name')
      .optional()
      .describe('CloudWatch dashboard name (default generated)'),
  })
  .strict();

/** The validated settings. */
export type Settings = z.infer<typeof SETTINGS_SCHEMA>;

/** Invalid CDK context: lists every bad `tallyfy:` key. */
export class SettingsError extends Error {
  readonly code = 'SETTINGS_INVALID';
  /** One line per problem, each starting with the context key. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(
      `Invalid CDK context (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`,
      options,
    );
    this.name = 'SettingsError';
    this.problems = problems;
  }
}

/**
 * Reads and validates every `tallyfy:` context key of `node` (an App's node sees cdk.json and
 * `-c` values).
 *
 * @throws SettingsError naming each bad or unknown key
 *
 * @example
 * const settings = readSettings(app.node);
 * settings.stackName; // 'TallyfyServerless'
 */
export function readSettings(node: Node): Settings {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node.getAllContext() as Record<string, unknown>)) {
    if (key.startsWith(CONTEXT_PREFIX)) raw[key.slice(CONTEXT_PREFIX.length)] = value;
  }
  const result = SETTINGS_SCHEMA.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys' && issue.path.length > 0) {
        return `${CONTEXT_PREFIX}${issue.path.join('.')} has unknown key(s) ${issue.keys.join(', ')}`;
      }
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((key) => `${CONTEXT_PREFIX}${key} is not a known setting (see docs/deploy.md)`)
          .join('\n- ');
      }
      const [key, ...rest] = issue.path.map(String);
      const shown = key === undefined ? '' : JSON.stringify(raw[key])?.slice(0, 80);
      const subKey = rest.length > 0 ? ` (at ${rest.join('.')})` : '';
      return `${CONTEXT_PREFIX}${key}${subKey} is ${shown}; ${issue.message}`;
    });
    throw new SettingsError(problems, { cause: result.error });
  }
  const settings = result.data;
  if (settings.archiveExpirationDays <= settings.archiveTransitionDays) {
    throw new SettingsError([
      `${CONTEXT_PREFIX}archiveExpirationDays is ${settings.archiveExpirationDays}; must exceed ${CONTEXT_PREFIX}archiveTransitionDays (${settings.archiveTransitionDays})`,
    ]);
  }
  if (settings.refreshIntervalMinutes * 60 >= settings.refreshMarginMinSeconds) {
    throw new SettingsError([
      `${CONTEXT_PREFIX}refreshIntervalMinutes is ${settings.refreshIntervalMinutes}; must be shorter than ${CONTEXT_PREFIX}refreshMarginMinSeconds (${settings.refreshMarginMinSeconds} s), or a token can expire between two refresher runs`,
    ]);
  }
  if (settings.tokenUrl === undefined && defaultTokenUrl(settings.tallyfyBaseUrl) === undefined) {
    throw new SettingsError([
      `${CONTEXT_PREFIX}tokenUrl is not set, and ${CONTEXT_PREFIX}tallyfyBaseUrl (${new URL(settings.tallyfyBaseUrl).origin}) is not one of Tallyfy's API hosts to derive it from: set it to the OAuth token endpoint`,
    ]);
  }
  if (
    settings.soonestExpiryAlarmSeconds !== undefined &&
    settings.soonestExpiryAlarmSeconds > settings.refreshMarginMinSeconds
  ) {
    throw new SettingsError([
      `${CONTEXT_PREFIX}soonestExpiryAlarmSeconds is ${settings.soonestExpiryAlarmSeconds}; must not exceed ${CONTEXT_PREFIX}refreshMarginMinSeconds (${settings.refreshMarginMinSeconds})`,
    ]);
  }
  return settings;
}

/** Maps settings to the stack's props (account and region are the caller's business). */
export function stackPropsFromSettings(settings: Settings): TallyfyStackProps {
  return {
    stackName: settings.stackName,
    description: 'tallyfy-serverless: Tallyfy integration (token refresh, webhooks, events)',
    encryptionKeyArn: settings.kmsKeyArn,
    integration: {
      secretPrefix: settings.secretPrefix ?? `tallyfy-serverless/${settings.stackName}`,
      tallyfyBaseUrl: settings.tallyfyBaseUrl,
      tallyfyTokenUrl: settings.tokenUrl,
      schedules: {
        refreshIntervalMinutes: settings.refreshIntervalMinutes,
        reconcileIntervalMinutes: settings.reconcileIntervalMinutes,
        reportHourUtc: settings.reportHourUtc,
      },
      refreshMargin: {
        minSeconds: settings.refreshMarginMinSeconds,
        fraction: settings.refreshMarginFraction,
      },
      refreshShardCount: settings.refreshShardCount,
      workerTimeout: Duration.seconds(settings.workerTimeoutSeconds),
      reservedConcurrency: settings.reservedConcurrency,
      alarmEmail: settings.alarmEmail,
      alarmTopicArn: settings.alarmTopicArn,
      logRetention: settings.logRetentionDays as RetentionDays,
      logLevel: settings.logLevel,
      removalPolicy:
        settings.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      tableName: settings.tableName,
      eventBusName: settings.eventBusName,
      archiveBucketName: settings.archiveBucketName,
      reportsBucketName: settings.reportsBucketName,
      archiveTransitionDays: settings.archiveTransitionDays,
      archiveExpirationDays: settings.archiveExpirationDays,
      busArchiveRetentionDays: settings.busArchiveRetentionDays,
      webhookThrottle: {
        rateLimit: settings.webhookRateLimit,
        burstLimit: settings.webhookBurstLimit,
      },
      functionSizes: settings.functionMemoryMb
        ? Object.fromEntries(
            Object.entries(settings.functionMemoryMb).map(([part, memorySize]) => [
              part,
              { memorySize },
            ]),
          )
        : undefined,
      alarmThresholds: {
        recoveredEventsPerHour: settings.recoveredEventsAlarmThreshold,
        soonestTokenExpirySeconds: settings.soonestExpiryAlarmSeconds,
        maxEventAge: Duration.minutes(settings.maxEventAgeMinutes),
      },
      dashboardName: settings.dashboardName,
    },
  };
}
