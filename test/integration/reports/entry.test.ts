/**
 * functions/reporter/index.ts itself: config from the environment, the registry on DynamoDB
 * Local, token secrets from the local Secrets Manager, the Tallyfy client against the sandbox,
 * and the S3 sink through the real S3 client to a loopback endpoint that accepts PutObject.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ReportDocument, ReportRunResult } from '../../../shared/reports/index.ts';
import { closeSharedDispatchers } from '../../../shared/tallyfy/index.ts';
import { csvOf, expectedReport } from './expected.ts';
import {
  type ReportWorld,
  SECRET_PREFIX,
  startPutObjectServer,
  startReportWorld,
  writeClaims,
} from './support.ts';

const ORG = 'rep-entry-a';
let world: ReportWorld;
let s3: Awaited<ReturnType<typeof startPutObjectServer>>;
const saved = { ...process.env };

beforeAll(async () => {
  // the seed is built around the real clock: the Lambda entry reads Date.now
  const now = Date.now();
  world = await startReportWorld({
    spec: {
      seed: 7,
      now: new Date(now).toISOString(),
      orgs: [
        { id: ORG, timezone: 'Asia/Kolkata', templates: 3, processes: 60, tasksPerProcess: [3, 8] },
      ],
    },
    nowMs: now,
    tokenExpiresAt: new Date(now + 86_400_000).toISOString(),
  });
  delete process.env.REPORT_WINDOW_DAYS;
  // one webhook event yesterday (UTC), so the event figures are read through the entry too
  const yesterday = new Date(Math.floor(now / 86_400_000) * 86_400_000 - 3_600_000).toISOString();
  await writeClaims(world, [{ orgId: ORG, origin: 'webhook', firstSeenAt: yesterday }]);
  s3 = await startPutObjectServer();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    LOG_LEVEL: 'SILENT',
    ORGS_TABLE: world.tableName,
    SECRET_PREFIX,
    REFRESH_REQUESTS: 'tallyfy-token-refresher',
    REPORTS_BUCKET: 'tallyfy-reports-test',
    TALLYFY_BASE_URL: world.sandbox.url,
    TALLYFY_TOKEN_URL: world.sandbox.tokenUrl,
    DYNAMODB_ENDPOINT: world.dynamoEndpoint,
    SECRETS_MANAGER_ENDPOINT: world.secretsEndpoint,
    S3_ENDPOINT: s3.endpoint,
  });
});

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  await closeSharedDispatchers();
  await s3?.close();
  await world?.close();
});

describe('reporter Lambda entry', () => {
  test('an on-demand event writes the org report to the reports bucket under reports/<orgId>/', async () => {
    const { handler } = await import('../../../functions/reporter/index.ts');

    const result = (await handler({ orgId: ORG })) as ReportRunResult;

    expect(result.orgs).toMatchObject([{ orgId: ORG, ok: true }]);
    const day = new Date(Date.parse(result.period.until) - 1).toISOString().slice(0, 10);
    const keys = [...s3.objects.keys()].sort();
    // 8 CSVs, report.html and report.json
    expect(keys.filter((k) => k.includes(`/${day}/`))).toHaveLength(10);
    expect(keys.filter((k) => k.includes('/latest/'))).toHaveLength(10);
    expect(
      s3.objects.get(`tallyfy-reports-test/reports/${ORG}/${day}/report.html`)?.contentType,
    ).toBe('text/html; charset=utf-8');
    for (const key of keys)
      expect(key).toMatch(new RegExp(`^tallyfy-reports-test/reports/${ORG}/(${day}|latest)/`));
    const json = s3.objects.get(`tallyfy-reports-test/reports/${ORG}/${day}/report.json`);
    expect(json?.contentType).toBe('application/json');
    const doc = JSON.parse(json?.body ?? '{}') as ReportDocument;
    // figures against the seed, at the instant the report says it was generated
    const seed = world.dataset.orgs[0];
    if (seed === undefined) throw new Error('no seed org');
    const period = {
      sinceMs: Date.parse(doc.metadata.period.since),
      untilMs: Date.parse(doc.metadata.period.until),
    };
    // REPORT_WINDOW_DAYS unset: yesterday, as a scheduled run would
    expect(period.untilMs - period.sinceMs).toBe(86_400_000);
    const expected = expectedReport(seed, period, Date.parse(doc.metadata.generatedAt), {
      received: 1,
      recovered: 0,
      deadLettered: 0,
    });
    expect(doc.totals).toEqual(expected.totals);
    expect(doc.tables).toEqual(expected.tables);
    expect(doc.metadata.timezone).toBe('Asia/Kolkata');
    expect(doc.metadata.generatedAtLocal).toMatch(/\+05:30$/);
    const csv = s3.objects.get(
      `tallyfy-reports-test/reports/${ORG}/${day}/overdue-by-assignee.csv`,
    );
    expect(csv?.contentType).toBe('text/csv; charset=utf-8');
    expect(csv?.body).toBe(
      csvOf(expected.tables['overdue-by-assignee'] ?? [], [
        'assigneeId',
        'overdueTasks',
        'maxOverdueHours',
        'meanOverdueHours',
      ]),
    );
  });
});
