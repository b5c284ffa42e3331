import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  ConfigError,
  describeConfig,
  type EnvRecord,
  loadConfig,
  SECTION_NAMES,
} from '../../../shared/config.ts';
import { ORG_ID_MAX_LENGTH } from '../../../shared/orgs/index.ts';
import {
  MAX_SECRET_PREFIX_LENGTH,
  orgSecretName,
  SIGNING_KEY_NAME_MAX_LENGTH,
  signingSecretName,
} from '../../../shared/secret-names.ts';

/** A complete, valid environment for every section. */
const VALID_ENV: EnvRecord = {
  ORGS_TABLE: 'tallyfy-orgs',
  SECRET_PREFIX: 'tallyfy-serverless/prod',
  EVENTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events',
  EVENT_BUS_NAME: 'tallyfy-events',
  ARCHIVE_BUCKET: 'tallyfy-archive-123',
  REPORTS_BUCKET: 'tallyfy-reports-123',
  REFRESH_REQUESTS: 'token-refresher',
  EVENTS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events-dlq',
};

/** One malformed text per variable, each violating what that variable expects. */
const MALFORMED: Record<string, string> = {
  LOG_LEVEL: 'loud',
  POWERTOOLS_METRICS_NAMESPACE: 'AWS/Lambda',
  AWS_REGION: 'Europe',
  DYNAMODB_ENDPOINT: 'localhost:8000',
  SECRETS_MANAGER_ENDPOINT: 'ftp://127.0.0.1:4566',
  SQS_ENDPOINT: 'not a url',
  EVENTBRIDGE_ENDPOINT: '127.0.0.1',
  S3_ENDPOINT: 'file:///tmp/s3',
  LAMBDA_ENDPOINT: 'http://user:pass@127.0.0.1:3001',
  TALLYFY_BASE_URL: 'go.tallyfy.com/api',
  TALLYFY_TOKEN_URL: 'account.tallyfy.com/oauth/token',
  HTTP_CONNECT_TIMEOUT_MS: '5s',
  HTTP_HEADERS_TIMEOUT_MS: '99',
  HTTP_BODY_TIMEOUT_MS: '1e4',
  HTTP_MAX_RETRIES: '11',
  HTTP_RETRY_AFTER_CAP_SECONDS: '0',
  TALLYFY_REQUESTS_PER_MINUTE: '-5',
  ORGS_TABLE: 'a b',
  ORG_CACHE_TTL_SECONDS: '3601',
  REFRESH_SHARD_COUNT: '0',
  SECRET_PREFIX: 'tallyfy-serverless/prod/',
  SECRETS_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123:key/short-account',
  TOKEN_CACHE_TTL_SECONDS: '600',
  TOKEN_EXPIRY_SKEW_SECONDS: 'sixty',
  REFRESH_MARGIN_MIN_SECONDS: '15m',
  REFRESH_MARGIN_FRACTION: '1',
  KEEPALIVE_INTERVAL_SECONDS: '172800',
  REFRESH_RETRY_BASE_SECONDS: '1.5',
  REFRESH_RETRY_MAX_SECONDS: 'forever',
  REFRESH_CONCURRENCY: 'eight',
  REFRESH_JITTER_SECONDS: '-1',
  LEASE_DURATION_SECONDS: '901',
  REFRESH_REQUESTS: 'arn:aws:sqs:eu-west-1:123456789012:queue',
  EVENTS_QUEUE_URL: 'events',
  EVENT_BUS_NAME: 'bus name with spaces',
  ARCHIVE_BUCKET: 'Archive_Bucket',
  WEBHOOK_MAX_BODY_BYTES: '256KiB',
  DEDUPE_TTL_DAYS: '6',
  EVENTS_DLQ_URL: 'dlq',
  WORKER_ORG_CONCURRENCY: '0',
  WORKER_CONCURRENCY: '101',
  WORKER_RETRY_BASE_SECONDS: '0.5',
  WORKER_RETRY_MAX_SECONDS: '43201',
  ACTION_LEASE_SECONDS: '9',
  RECONCILER_OVERLAP_MINUTES: '1441',
  RECONCILER_CONCURRENCY: '0',
  RECONCILER_RESCUE_GRACE_MINUTES: '4',
  REPORTS_BUCKET: 'ab',
  REPORT_CONCURRENCY: '0',
  REPORT_WINDOW_DAYS: '0',
  REPORT_PAGE_SIZE: '101',
  REFRESH_INTERVAL_MINUTES: '61',
  RECONCILE_INTERVAL_MINUTES: 'hourly',
  REPORT_HOUR_UTC: '24',
};

const ALL = describeConfig();

function issuesOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('a complete environment loads every section with typed values', () => {
    const config = loadConfig(SECTION_NAMES, VALID_ENV);
    expect(config.orgs.tableName).toBe('tallyfy-orgs');
    expect(config.secrets.prefix).toBe('tallyfy-serverless/prod');
    expect(config.refreshRequests.target).toEqual({
      kind: 'lambda',
      functionName: 'token-refresher',
    });
    expect(config.queue.eventsQueueUrl).toBe(VALID_ENV.EVENTS_QUEUE_URL);
  });

  test('unset tunables take the documented defaults', () => {
    const config = loadConfig(SECTION_NAMES, VALID_ENV);
    expect(config.log.logLevel).toBe('INFO');
    expect(config.tallyfy.baseUrl).toBe('https://go.tallyfy.com/api');
    expect(config.tallyfy.maxRetries).toBe(4);
    expect(config.tallyfy.retryAfterCapSeconds).toBe(30);
    expect(config.refresher.marginMinSeconds).toBe(900);
    expect(config.refresher.marginFraction).toBe(0.2);
    expect(config.refresher.concurrency).toBe(8);
    expect(config.tokens.cacheTtlSeconds).toBe(300);
    expect(config.tokens.expirySkewSeconds).toBe(60);
    expect(config.webhook.maxBodyBytes).toBe(262_144);
    expect(config.dedupe.ttlDays).toBe(7);
  });

  test.each(ALL.filter((row) => !row.default.startsWith('(')))(
    'unset $variable behaves as if set to its default $default',
    (row) => {
      const section = (env: EnvRecord) =>
        (loadConfig(SECTION_NAMES, env) as unknown as Record<string, unknown>)[row.section];
      expect(section(VALID_ENV)).toEqual(section({ ...VALID_ENV, [row.variable]: row.default }));
    },
  );

  test('unset optional variables are undefined', () => {
    const config = loadConfig(SECTION_NAMES, VALID_ENV);
    expect(config.aws.region).toBeUndefined();
    expect(config.aws.dynamoDbEndpoint).toBeUndefined();
    expect(config.aws.secretsManagerEndpoint).toBeUndefined();
  });

  test.each(ALL.filter((row) => row.default === '(required)'))(
    'unset $variable is reported as not set, naming what is expected',
    (row) => {
      const env = { ...VALID_ENV, [row.variable]: undefined };
      const error = issuesOf(() => loadConfig(SECTION_NAMES, env));
      expect(error.issues).toEqual([
        { variable: row.variable, problem: 'unset', expected: row.expected },
      ]);
      expect(error.message).toContain(`${row.variable} is not set; expected ${row.expected}`);
      expect(error.code).toBe('CONFIG_INVALID');
    },
  );

  test.each(ALL)(
    'malformed $variable is reported with the text found and what is expected',
    (row) => {
      const bad = MALFORMED[row.variable];
      expect(bad, `MALFORMED has no sample for ${row.variable}`).toBeDefined();
      const error = issuesOf(() =>
        loadConfig(SECTION_NAMES, { ...VALID_ENV, [row.variable]: bad }),
      );
      expect(error.issues).toEqual([
        { variable: row.variable, problem: 'malformed', expected: row.expected, received: bad },
      ]);
      expect(error.message).toContain(`${row.variable} is ${JSON.stringify(bad)}; expected`);
      expect(error.message).not.toContain('must be a number');
    },
  );

  test('a blank variable counts as unset, so an empty CDK value cannot pass as a table name', () => {
    const error = issuesOf(() => loadConfig(['orgs'], { ORGS_TABLE: '  ' }));
    expect(error.issues).toEqual([
      expect.objectContaining({ variable: 'ORGS_TABLE', problem: 'unset' }),
    ]);
    expect(loadConfig(['log'], { LOG_LEVEL: '' }).log.logLevel).toBe('INFO');
  });

  test('every problem is reported in one error, so one failed start shows every fix', () => {
    const error = issuesOf(() =>
      loadConfig(['orgs', 'refresher', 'queue'], {
        LOG_LEVEL: 'loud',
        REFRESH_CONCURRENCY: 'eight',
        EVENTS_QUEUE_URL: 'ftp://queue',
      }),
    );
    expect(error.issues.map((i) => [i.variable, i.problem])).toEqual([
      ['LOG_LEVEL', 'malformed'],
      ['ORGS_TABLE', 'unset'],
      ['REFRESH_CONCURRENCY', 'malformed'],
      ['EVENTS_QUEUE_URL', 'malformed'],
    ]);
    expect(error.message).toMatch(/^Invalid configuration \(4 problems\):/);
  });

  test('SECRETS_KMS_KEY_ID takes a key ARN, an alias ARN, a key id or an alias; unset means the AWS managed key', () => {
    const keyOf = (value?: string) =>
      loadConfig(['secrets'], {
        SECRET_PREFIX: 'p',
        ...(value === undefined ? {} : { SECRETS_KMS_KEY_ID: value }),
      }).secrets.kmsKeyId;
    for (const value of [
      'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      'arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/tallyfy',
      '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      'alias/tallyfy-secrets',
    ]) {
      expect(keyOf(value)).toBe(value);
    }
    expect(keyOf()).toBeUndefined();
    for (const value of ['tallyfy', 'arn:aws:s3:::bucket', 'alias/has space']) {
      expect(() => keyOf(value), value).toThrow(/SECRETS_KMS_KEY_ID/);
    }
  });

  test('SECRET_PREFIX is refused when the longest org id or signing key name would not fit a secret name', () => {
    const longest = `p/${'x'.repeat(MAX_SECRET_PREFIX_LENGTH - 2)}`;
    expect(loadConfig(['secrets'], { SECRET_PREFIX: longest }).secrets.prefix).toBe(longest);
    const error = issuesOf(() => loadConfig(['secrets'], { SECRET_PREFIX: `${longest}x` }));
    expect(error.issues).toEqual([
      expect.objectContaining({ variable: 'SECRET_PREFIX', problem: 'malformed' }),
    ]);
    expect(error.message).toContain(`1-${MAX_SECRET_PREFIX_LENGTH} characters`);
    expect(error.message).toContain('fits Secrets Manager');
    // what the limit protects: the longest names under the longest prefix are 512 at most
    const orgId = 'o'.repeat(ORG_ID_MAX_LENGTH);
    expect(orgSecretName(longest, orgId, 'credentials').length).toBeLessThanOrEqual(512);
    expect(
      signingSecretName(longest, 'k'.repeat(SIGNING_KEY_NAME_MAX_LENGTH)).length,
    ).toBeLessThanOrEqual(512);
    expect(signingSecretName(`${longest}x`, 'k'.repeat(SIGNING_KEY_NAME_MAX_LENGTH)).length).toBe(
      513,
    );
  });

  test('a function validates only the sections it asks for (plus log and aws)', () => {
    const config = loadConfig(['orgs'], { ORGS_TABLE: 'orgs' });
    expect(Object.keys(config).sort()).toEqual(['aws', 'log', 'orgs']);
    const error = issuesOf(() => loadConfig(['orgs'], { ORGS_TABLE: 'orgs', AWS_REGION: 'x' }));
    expect(error.issues.map((i) => i.variable)).toEqual(['AWS_REGION']);
  });

  test('the loaded config is deeply frozen', () => {
    const config = loadConfig(['refreshRequests', 'tallyfy'], { REFRESH_REQUESTS: 'local' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tallyfy)).toBe(true);
    expect(Object.isFrozen(config.refreshRequests.target)).toBe(true);
    expect(() => {
      (config.tallyfy as { maxRetries: number }).maxRetries = 99;
    }).toThrow(TypeError);
  });

  test('REFRESH_REQUESTS accepts local, a function name, and a qualified function ARN', () => {
    const target = (text: string) =>
      loadConfig(['refreshRequests'], { REFRESH_REQUESTS: text }).refreshRequests.target;
    expect(target('local')).toEqual({ kind: 'local' });
    expect(target('tallyfy-token-refresher')).toEqual({
      kind: 'lambda',
      functionName: 'tallyfy-token-refresher',
    });
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:refresher:live';
    expect(target(arn)).toEqual({ kind: 'lambda', functionName: arn });
  });

  test('LOG_LEVEL is case-insensitive and loaded upper-case', () => {
    expect(loadConfig([], { LOG_LEVEL: 'debug' }).log.logLevel).toBe('DEBUG');
  });

  test('TALLYFY_BASE_URL accepts loopback URLs for the sandbox and drops trailing slashes', () => {
    const tokenUrl = { TALLYFY_TOKEN_URL: 'http://127.0.0.1:4011/oauth/token' };
    const config = loadConfig(['tallyfy'], {
      TALLYFY_BASE_URL: 'http://127.0.0.1:4010/api/',
      ...tokenUrl,
    });
    expect(config.tallyfy.baseUrl).toBe('http://127.0.0.1:4010/api');
    expect(
      loadConfig(['tallyfy'], { TALLYFY_BASE_URL: 'http://localhost:4010/api', ...tokenUrl })
        .tallyfy.baseUrl,
    ).toBe('http://localhost:4010/api');
  });

  test('TALLYFY_TOKEN_URL defaults to the token host of Tallyfy’s API hosts, never to the API base', () => {
    const tokenUrl = (env: EnvRecord) => loadConfig(['tallyfy'], env).tallyfy.tokenUrl;
    expect(tokenUrl({})).toBe('https://account.tallyfy.com/oauth/token');
    expect(tokenUrl({ TALLYFY_BASE_URL: 'https://api.tallyfy.com' })).toBe(
      'https://account.tallyfy.com/oauth/token',
    );
    expect(tokenUrl({ TALLYFY_BASE_URL: 'https://staging.go.tallyfy.com/api' })).toBe(
      'https://staging.account.tallyfy.com/oauth/token',
    );
    expect(
      tokenUrl({
        TALLYFY_BASE_URL: 'https://go.tallyfy.com/api',
        TALLYFY_TOKEN_URL: 'https://go.tallyfy.com/oauth/token',
      }),
    ).toBe('https://go.tallyfy.com/oauth/token');
  });

  test('TALLYFY_TOKEN_URL is required when TALLYFY_BASE_URL is not a Tallyfy API host', () => {
    const error = issuesOf(() =>
      loadConfig(['tallyfy'], { TALLYFY_BASE_URL: 'http://127.0.0.1:4010/api' }),
    );
    expect(error.issues).toEqual([
      expect.objectContaining({ variable: 'TALLYFY_TOKEN_URL', problem: 'unset' }),
    ]);
    expect(error.message).toContain('required when TALLYFY_BASE_URL is not on go.tallyfy.com');
    expect(
      loadConfig(['tallyfy'], {
        TALLYFY_BASE_URL: 'http://127.0.0.1:4010/api',
        TALLYFY_TOKEN_URL: 'http://127.0.0.1:4011/oauth/token',
      }).tallyfy.tokenUrl,
    ).toBe('http://127.0.0.1:4011/oauth/token');
    // a malformed base is one problem, not two: the token URL is not derived from it
    expect(
      issuesOf(() => loadConfig(['tallyfy'], { TALLYFY_BASE_URL: 'go.tallyfy.com' })).issues.map(
        (i) => i.variable,
      ),
    ).toEqual(['TALLYFY_BASE_URL']);
  });

  test('local endpoint overrides are loaded for local mode', () => {
    const config = loadConfig([], {
      AWS_REGION: 'us-east-1',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
    });
    expect(config.aws.region).toBe('us-east-1');
    expect(config.aws.dynamoDbEndpoint).toBe('http://127.0.0.1:8000');
  });

  test('REFRESH_MARGIN_FRACTION must lie strictly between 0 and 1', () => {
    const fraction = (text: string) => () =>
      loadConfig(['refresher'], { REFRESH_MARGIN_FRACTION: text });
    expect(fraction('0.35')().refresher.marginFraction).toBe(0.35);
    expect(issuesOf(fraction('0')).issues[0]?.variable).toBe('REFRESH_MARGIN_FRACTION');
    expect(issuesOf(fraction('1.0')).issues[0]?.variable).toBe('REFRESH_MARGIN_FRACTION');
  });

  test('a very long malformed value is shortened in the error', () => {
    const error = issuesOf(() => loadConfig(['orgs'], { ORGS_TABLE: 'x y'.repeat(100) }));
    expect(error.issues[0]?.received).toHaveLength(80);
  });

  test('without an env record it reads process.env', () => {
    const before = process.env.REPORT_HOUR_UTC;
    process.env.REPORT_HOUR_UTC = '9';
    try {
      expect(loadConfig(['schedules']).schedules.reportHourUtc).toBe(9);
    } finally {
      if (before === undefined) delete process.env.REPORT_HOUR_UTC;
      else process.env.REPORT_HOUR_UTC = before;
    }
  });
});

describe('describeConfig', () => {
  test('every variable has a malformed sample in this test and a row in docs/configuration.md', () => {
    const docs = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    for (const row of ALL) {
      expect(Object.keys(MALFORMED)).toContain(row.variable);
      expect(docs, `${row.variable} missing from docs`).toMatch(
        new RegExp(`\\| \`${row.variable}\` +\\|`),
      );
    }
    expect(new Set(ALL.map((r) => r.variable)).size).toBe(ALL.length);
  });
});
