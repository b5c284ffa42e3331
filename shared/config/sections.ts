import * as z from 'zod';
import { MAX_SECRET_PREFIX_LENGTH } from '../secret-names.ts';
import { defaultTokenUrl, KNOWN_API_HOSTS } from '../tallyfy/token-url.ts';
import {
  defaultsTo,
  derivedFrom,
  fractionBetween,
  httpUrl,
  integer,
  matching,
  optional,
  variable,
} from './variable.ts';

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

const logLevel = () =>
  z
    .string()
    .transform((text) => text.toUpperCase())
    .pipe(z.enum(LOG_LEVELS));

const endpoint = (name: string, service: string) =>
  variable(
    name,
    httpUrl(),
    'an http(s) URL',
    `Endpoint override for ${service} (local mode); unset in AWS`,
    optional(),
  );

/** A Lambda function name, a (qualified) function ARN, or `local` for the in-process refresher. */
const refreshRequests = () =>
  z.union([
    z.literal('local').transform(() => ({ kind: 'local' as const })),
    z
      .string()
      .regex(
        /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/,
      )
      .transform((functionName) => ({ kind: 'lambda' as const, functionName })),
  ]);

/**
 * Every variable, grouped into the sections that functions ask for. Section `log` and `aws` are
 * loaded always; each Lambda names the others it needs, so a worker never fails for lack of a
 * reports bucket. The keys here are the property names of the loaded config.
 *
 * A section's variables (and their zod schemas) are built the first time the section is read
 * from {@link SECTIONS}: a function builds only the sections it loads, not all of them at every
 * cold start.
 */
const SECTION_BUILDERS = {
  log: () => ({
    logLevel: variable(
      'LOG_LEVEL',
      logLevel(),
      `one of ${LOG_LEVELS.join(', ')} (any case)`,
      'Lowest level written to the log',
      defaultsTo('INFO'),
    ),
    metricsNamespace: variable(
      'POWERTOOLS_METRICS_NAMESPACE',
      matching(/^(?!AWS\/)[A-Za-z0-9.\-_/#:]{1,255}$/),
      'a CloudWatch namespace (1-255 of A-Z a-z 0-9 . - _ / # :, not starting with AWS/)',
      'CloudWatch namespace of every metric; the stack sets one per deployment so two never mix',
      defaultsTo('TallyfyServerless'),
    ),
  }),
  aws: () => ({
    region: variable(
      'AWS_REGION',
      matching(/^[a-z]{2}(-[a-z]+)+-\d+$/),
      'an AWS region such as eu-west-1',
      'Region for AWS clients; Lambda sets it; unset lets the SDK resolve it (profile)',
      optional(),
    ),
    dynamoDbEndpoint: endpoint('DYNAMODB_ENDPOINT', 'DynamoDB'),
    secretsManagerEndpoint: endpoint('SECRETS_MANAGER_ENDPOINT', 'Secrets Manager'),
    sqsEndpoint: endpoint('SQS_ENDPOINT', 'SQS'),
    eventBridgeEndpoint: endpoint('EVENTBRIDGE_ENDPOINT', 'EventBridge'),
    s3Endpoint: endpoint('S3_ENDPOINT', 'S3'),
    lambdaEndpoint: endpoint('LAMBDA_ENDPOINT', 'Lambda'),
  }),
  tallyfy: () => ({
    baseUrl: variable(
      'TALLYFY_BASE_URL',
      httpUrl().transform((url) => url.replace(/\/+$/, '')),
      'an http(s) URL without credentials',
      'Tallyfy API root (the sandbox in local mode); trailing slashes dropped',
      defaultsTo('https://go.tallyfy.com/api'),
    ),
    tokenUrl: variable(
      'TALLYFY_TOKEN_URL',
      httpUrl(),
      `an http(s) URL without credentials; required when TALLYFY_BASE_URL is not on ${KNOWN_API_HOSTS.join(', ')}`,
      "Tallyfy's OAuth token endpoint, its own host in production (an org's tokenUrl overrides it); never derived as TALLYFY_BASE_URL/oauth/token",
      derivedFrom(
        '(derived from TALLYFY_BASE_URL: https://account.tallyfy.com/oauth/token for go.tallyfy.com and api.tallyfy.com, https://staging.account.tallyfy.com/oauth/token for their staging hosts)',
        (earlier) =>
          typeof earlier.baseUrl === 'string' ? defaultTokenUrl(earlier.baseUrl) : null,
      ),
    ),
    connectTimeoutMs: variable(
      'HTTP_CONNECT_TIMEOUT_MS',
      integer(100, 60_000),
      'an integer from 100 to 60000',
      'Time allowed to open a connection to Tallyfy, per attempt',
      defaultsTo('5000'),
    ),
    headersTimeoutMs: variable(
      'HTTP_HEADERS_TIMEOUT_MS',
      integer(100, 300_000),
      'an integer from 100 to 300000',
      'Time allowed for response headers, per attempt',
      defaultsTo('10000'),
    ),
    bodyTimeoutMs: variable(
      'HTTP_BODY_TIMEOUT_MS',
      integer(100, 300_000),
      'an integer from 100 to 300000',
      'Time allowed between body chunks, per attempt',
      defaultsTo('30000'),
    ),
    maxRetries: variable(
      'HTTP_MAX_RETRIES',
      integer(0, 10),
      'an integer from 0 to 10',
      'Retries of a retryable Tallyfy call (429; 500/502/503/504 on GET/HEAD)',
      defaultsTo('4'),
    ),
    retryAfterCapSeconds: variable(
      'HTTP_RETRY_AFTER_CAP_SECONDS',
      integer(1, 900),
      'an integer from 1 to 900',
      'Longest Retry-After waited in-process; a longer one fails the call at once with the full wait on the error (retryAfterMs) for the caller to honour',
      defaultsTo('30'),
    ),
    requestsPerMinute: variable(
      'TALLYFY_REQUESTS_PER_MINUTE',
      integer(1, 10_000),
      'an integer from 1 to 10000',
      "Requests per minute per org from one container: a token bucket shared by all of the org's calls (a tenth as a burst, never more than this in any minute); Tallyfy documents 100 per minute per org",
      defaultsTo('100'),
    ),
  }),
  orgs: () => ({
    tableName: variable(
      'ORGS_TABLE',
      matching(/^[A-Za-z0-9_.-]{3,255}$/),
      'a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)',
      'DynamoDB table holding orgs, rules, watermarks and dedupe items',
    ),
    cacheTtlSeconds: variable(
      'ORG_CACHE_TTL_SECONDS',
      integer(0, 3600),
      'an integer from 0 to 3600',
      'How long a container reuses an org item it read (0 = no cache)',
      defaultsTo('60'),
    ),
    refreshShardCount: variable(
      'REFRESH_SHARD_COUNT',
      integer(1, 100),
      'an integer from 1 to 100',
      'Partitions of the byRefreshDue index (REFRESH#0..N-1); changing it needs a re-shard',
      defaultsTo('4'),
    ),
  }),
  secrets: () => ({
    prefix: variable(
      'SECRET_PREFIX',
      matching(new RegExp(`^[A-Za-z0-9/_+=.@-]{1,${MAX_SECRET_PREFIX_LENGTH}}$`)).refine(
        (text) => !text.endsWith('/'),
      ),
      `a Secrets Manager name prefix of 1-${MAX_SECRET_PREFIX_LENGTH} characters (A-Z a-z 0-9 / _ + = . @ -, no trailing /), so that every secret name under it fits Secrets Manager's 512`,
      'Prefix of the per-org secrets: <prefix>/orgs/<orgId>/{credentials,token}',
    ),
    kmsKeyId: variable(
      'SECRETS_KMS_KEY_ID',
      matching(
        /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]{1,250}|alias\/[A-Za-z0-9/_-]{1,250}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
      ),
      'a KMS key ARN, key id or alias (alias/…)',
      'Customer managed KMS key new org secrets are created with (the stack sets it when it has a key); unset: the AWS managed key aws/secretsmanager',
      optional(),
    ),
  }),
  tokens: () => ({
    cacheTtlSeconds: variable(
      'TOKEN_CACHE_TTL_SECONDS',
      integer(0, 300),
      'an integer from 0 to 300',
      'How long a container reuses a token it read (never past expiresAt minus skew)',
      defaultsTo('300'),
    ),
    expirySkewSeconds: variable(
      'TOKEN_EXPIRY_SKEW_SECONDS',
      integer(0, 3600),
      'an integer from 0 to 3600',
      'A cached token is dropped this long before its expiresAt',
      defaultsTo('60'),
    ),
  }),
  refresher: () => ({
    marginMinSeconds: variable(
      'REFRESH_MARGIN_MIN_SECONDS',
      integer(60, 86_400),
      'an integer from 60 to 86400',
      'Refresh when remaining life < max(this, fraction x lifetime)',
      defaultsTo('900'),
    ),
    marginFraction: variable(
      'REFRESH_MARGIN_FRACTION',
      fractionBetween(0, 1),
      'a decimal number between 0 and 1 (exclusive), such as 0.2',
      'Fraction of the token lifetime kept as refresh margin',
      defaultsTo('0.2'),
    ),
    keepAliveSeconds: variable(
      'KEEPALIVE_INTERVAL_SECONDS',
      integer(300, 86_400),
      'an integer from 300 to 86400',
      'Longest time between checks (GET /me) of a token that needs no refresh',
      defaultsTo('86400'),
    ),
    retryBaseSeconds: variable(
      'REFRESH_RETRY_BASE_SECONDS',
      integer(1, 3600),
      'an integer from 1 to 3600',
      'First back-off after a failed refresh (doubles per failure)',
      defaultsTo('60'),
    ),
    retryMaxSeconds: variable(
      'REFRESH_RETRY_MAX_SECONDS',
      integer(1, 86_400),
      'an integer from 1 to 86400',
      'Longest back-off between refresh attempts of one org',
      defaultsTo('1800'),
    ),
    concurrency: variable(
      'REFRESH_CONCURRENCY',
      integer(1, 50),
      'an integer from 1 to 50',
      'Orgs refreshed at once (Secrets Manager allows ~50 writes/s per region)',
      defaultsTo('8'),
    ),
    jitterSeconds: variable(
      'REFRESH_JITTER_SECONDS',
      integer(0, 3600),
      'an integer from 0 to 3600',
      'Random spread added to refreshDueAt so orgs do not refresh in lockstep',
      defaultsTo('60'),
    ),
    leaseSeconds: variable(
      'LEASE_DURATION_SECONDS',
      integer(5, 900),
      'an integer from 5 to 900',
      'How long a refresher owns an org; longer than one refresh, at most a Lambda timeout',
      defaultsTo('60'),
    ),
  }),
  refreshRequests: () => ({
    target: variable(
      'REFRESH_REQUESTS',
      refreshRequests(),
      '"local" or the token refresher Lambda function name or ARN',
      'Where a worker sends an on-demand refresh request (async Lambda invoke, or in-process)',
    ),
  }),
  queue: () => ({
    eventsQueueUrl: variable(
      'EVENTS_QUEUE_URL',
      httpUrl(),
      'an SQS queue URL (http(s))',
      'SQS queue the receiver and reconciler enqueue events to',
    ),
  }),
  bus: () => ({
    eventBusName: variable(
      'EVENT_BUS_NAME',
      matching(
        /^([A-Za-z0-9._/-]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._/-]{1,256})$/,
      ),
      'an EventBridge bus name or ARN',
      'EventBridge bus normalized events are published to',
    ),
  }),
  archive: () => ({
    bucket: variable(
      'ARCHIVE_BUCKET',
      matching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
      'an S3 bucket name (3-63 of a-z 0-9 . -)',
      'S3 bucket for the raw webhook archive',
    ),
  }),
  webhook: () => ({
    maxBodyBytes: variable(
      'WEBHOOK_MAX_BODY_BYTES',
      integer(1024, 6_291_456),
      'an integer from 1024 to 6291456',
      'Largest webhook body accepted; larger gets 413',
      defaultsTo('262144'),
    ),
  }),
  dedupe: () => ({
    ttlDays: variable(
      'DEDUPE_TTL_DAYS',
      integer(7, 365),
      'an integer from 7 to 365',
      'How long a seen event id is remembered (DynamoDB TTL)',
      defaultsTo('7'),
    ),
  }),
  worker: () => ({
    deadLetterQueueUrl: variable(
      'EVENTS_DLQ_URL',
      httpUrl(),
      'an SQS queue URL (http(s))',
      'Dead-letter queue of the events queue; the worker sends permanent failures there with their reason',
    ),
    orgConcurrency: variable(
      'WORKER_ORG_CONCURRENCY',
      integer(1, 50),
      'an integer from 1 to 50',
      'Events of one org a worker processes at once (bounds its calls to Tallyfy)',
      defaultsTo('2'),
    ),
    concurrency: variable(
      'WORKER_CONCURRENCY',
      integer(1, 100),
      'an integer from 1 to 100',
      'Events a worker processes at once across orgs (at most the batch size matters)',
      defaultsTo('10'),
    ),
    retryBaseSeconds: variable(
      'WORKER_RETRY_BASE_SECONDS',
      integer(1, 3600),
      'an integer from 1 to 3600',
      'Visibility backoff after the first transient failure (doubles per receive, +-20% jitter)',
      defaultsTo('10'),
    ),
    retryMaxSeconds: variable(
      'WORKER_RETRY_MAX_SECONDS',
      integer(1, 43_200),
      'an integer from 1 to 43200',
      'Longest visibility backoff between receives of a failing event',
      defaultsTo('900'),
    ),
    actionLeaseSeconds: variable(
      'ACTION_LEASE_SECONDS',
      integer(10, 900),
      'an integer from 10 to 900',
      'How long an action attempt is presumed alive before a redelivery treats it as in doubt',
      defaultsTo('120'),
    ),
  }),
  reconciler: () => ({
    overlapMinutes: variable(
      'RECONCILER_OVERLAP_MINUTES',
      integer(0, 1440),
      'an integer from 0 to 1440',
      'How far before the watermark each reconciliation re-reads (catches late writes)',
      defaultsTo('10'),
    ),
    concurrency: variable(
      'RECONCILER_CONCURRENCY',
      integer(1, 50),
      'an integer from 1 to 50',
      'Orgs one reconciler run reads at once (each org reads its streams one after another)',
      defaultsTo('4'),
    ),
    rescueGraceMinutes: variable(
      'RECONCILER_RESCUE_GRACE_MINUTES',
      integer(5, 1440),
      'an integer from 5 to 1440',
      'How long a queued event may have no processed or dead-lettered outcome before the reconciler enqueues it again (EventsRescued)',
      defaultsTo('60'),
    ),
  }),
  reports: () => ({
    bucket: variable(
      'REPORTS_BUCKET',
      matching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
      'an S3 bucket name (3-63 of a-z 0-9 . -)',
      'S3 bucket the reporter writes CSV and JSON reports to',
    ),
    windowDays: variable(
      'REPORT_WINDOW_DAYS',
      integer(1, 366),
      'an integer from 1 to 366',
      'Whole UTC days a scheduled report covers, ending at midnight UTC of the run day',
      defaultsTo('1'),
    ),
    pageSize: variable(
      'REPORT_PAGE_SIZE',
      integer(1, 100),
      'an integer from 1 to 100',
      'per_page used when paginating Tallyfy (Tallyfy caps it at 100)',
      defaultsTo('100'),
    ),
    concurrency: variable(
      'REPORT_CONCURRENCY',
      integer(1, 20),
      'an integer from 1 to 20',
      'Orgs reported at once in a scheduled run (each streams its own pages)',
      defaultsTo('4'),
    ),
  }),
  schedules: () => ({
    refreshIntervalMinutes: variable(
      'REFRESH_INTERVAL_MINUTES',
      integer(1, 60),
      'an integer from 1 to 60',
      'How often the token refresher runs (EventBridge rate / local timer)',
      defaultsTo('5'),
    ),
    reconcileIntervalMinutes: variable(
      'RECONCILE_INTERVAL_MINUTES',
      integer(1, 1440),
      'an integer from 1 to 1440',
      'How often the reconciler runs',
      defaultsTo('15'),
    ),
    reportHourUtc: variable(
      'REPORT_HOUR_UTC',
      integer(0, 23),
      'an integer from 0 to 23',
      'Hour (UTC) of the daily report run',
      defaultsTo('6'),
    ),
  }),
};

type SectionBuilders = typeof SECTION_BUILDERS;

/** Every section's variables, by section name (`SECTIONS.tallyfy.baseUrl`). */
export type Sections = { readonly [S in keyof SectionBuilders]: ReturnType<SectionBuilders[S]> };

/** Each section, built once, when first read (in documentation order, like SECTION_BUILDERS). */
export const SECTIONS: Sections = (() => {
  const sections = {} as Sections;
  for (const name of Object.keys(SECTION_BUILDERS) as (keyof SectionBuilders)[]) {
    let built: object | undefined;
    Object.defineProperty(sections, name, {
      enumerable: true,
      get: () => {
        built ??= Object.freeze(SECTION_BUILDERS[name]());
        return built;
      },
    });
  }
  return Object.freeze(sections);
})();
