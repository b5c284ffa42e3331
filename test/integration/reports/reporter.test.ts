/**
 * The reporter over real local engines: the Tallyfy sandbox seeded with a known data set (2
 * orgs, 7 templates, 500 processes, 5,000+ tasks, some overdue), DynamoDB Local (org registry
 * and event claims), a local Secrets Manager (token secrets) and the file sink. Every figure is
 * checked against `expectedReport`, computed from the seed records without reporter code.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createReporterHandler } from '../../../functions/reporter/handler.ts';
import type { GeneratedOrg } from '../../../local/tallyfy-sandbox/index.ts';
import { createMetrics } from '../../../shared/observability/index.ts';
import {
  dynamoEventFigures,
  fileReportSink,
  powertoolsReportMetrics,
  type ReportDeps,
  type ReportDocument,
  type ReportRunResult,
  registryOrgLister,
  tallyfyClientLists,
  tallyfyReportSource,
} from '../../../shared/reports/index.ts';
import {
  closeSharedDispatchers,
  parseTallyfyDateMs,
  tallyfyApiPerOrg,
} from '../../../shared/tallyfy/index.ts';
import { createTokenProvider, createTokenStore } from '../../../shared/tokens/index.ts';
import { csvOf, expectedReport } from './expected.ts';
import {
  type ClaimSpec,
  type ReportWorld,
  SECRET_PREFIX,
  startReportWorld,
  writeClaims,
} from './support.ts';

const NOW = Date.parse('2026-11-22T06:00:00.000Z');
const DAY = 86_400_000;
const ORG_A = 'rep-org-a';
const ORG_B = 'rep-org-b';
/** The scheduled run covers the 30 whole UTC days before it fired. */
const PERIOD = {
  sinceMs: Date.parse('2026-10-23T00:00:00Z'),
  untilMs: Date.parse('2026-11-22T00:00:00Z'),
};
const SCHEDULED = {
  version: '0',
  id: 'c8d1f6e2-0000-4000-8000-000000000001',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-22T06:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: {},
};

/** Table columns as docs/reports.md lists them. */
const COLUMNS: Record<string, string[]> = {
  'open-processes-by-template': ['templateId', 'templateTitle', 'openProcesses'],
  'processes-per-day': ['day', 'launched', 'completed'],
  'cycle-time-by-template': [
    'templateId',
    'templateTitle',
    'completedProcesses',
    'medianHours',
    'p90Hours',
  ],
  'tasks-completed-by-assignee': ['assigneeId', 'tasksCompleted'],
  'overdue-by-assignee': ['assigneeId', 'overdueTasks', 'maxOverdueHours', 'meanOverdueHours'],
  'overdue-by-template': [
    'templateId',
    'templateTitle',
    'overdueTasks',
    'maxOverdueHours',
    'meanOverdueHours',
  ],
  'due-next-7-days': ['day', 'tasks'],
  'event-figures': ['available', 'received', 'recovered', 'deadLettered'],
};

/** Our own event records: some in the period, some before it, one dead-lettered, one replay. */
const CLAIMS: ClaimSpec[] = [
  { orgId: ORG_A, origin: 'webhook', firstSeenAt: '2026-10-23T00:00:00.000Z' },
  { orgId: ORG_A, origin: 'webhook', firstSeenAt: '2026-11-01T10:00:00.000Z' },
  {
    orgId: ORG_A,
    origin: 'webhook',
    firstSeenAt: '2026-11-21T23:59:59.000Z',
    failedAt: '2026-11-21T23:59:59.500Z',
  },
  { orgId: ORG_A, origin: 'reconciler', firstSeenAt: '2026-11-05T08:00:00.000Z' },
  { orgId: ORG_A, origin: 'webhook', firstSeenAt: '2026-10-22T23:59:59.000Z' },
  { orgId: ORG_A, origin: 'webhook', firstSeenAt: '2026-11-22T00:00:00.000Z' },
  {
    orgId: ORG_A,
    origin: 'webhook',
    firstSeenAt: '2026-10-01T00:00:00.000Z',
    failedAt: '2026-11-02T00:00:00.000Z',
  },
  { orgId: ORG_A, origin: 'replay', firstSeenAt: '2026-11-03T00:00:00.000Z' },
  { orgId: ORG_B, origin: 'webhook', firstSeenAt: '2026-11-10T12:00:00.000Z' },
  { orgId: ORG_B, origin: 'reconciler', firstSeenAt: '2026-11-11T12:00:00.000Z' },
  {
    orgId: ORG_B,
    origin: 'reconciler',
    firstSeenAt: '2026-11-12T12:00:00.000Z',
    failedAt: '2026-11-12T12:00:01.000Z',
  },
];

/** The claims' counts by the definitions in docs/reports.md. */
function claimCounts(orgId: string, period: { sinceMs: number; untilMs: number }) {
  const inside = (iso: string | undefined) =>
    iso !== undefined && Date.parse(iso) >= period.sinceMs && Date.parse(iso) < period.untilMs;
  const mine = CLAIMS.filter((c) => c.orgId === orgId);
  return {
    received: mine.filter((c) => c.origin === 'webhook' && inside(c.firstSeenAt)).length,
    recovered: mine.filter((c) => c.origin === 'reconciler' && inside(c.firstSeenAt)).length,
    deadLettered: mine.filter((c) => inside(c.failedAt)).length,
  };
}

let world: ReportWorld;
let root: string;

beforeAll(async () => {
  world = await startReportWorld({
    spec: {
      seed: 20261122,
      orgs: [
        {
          id: ORG_A,
          name: 'Acme EU',
          timezone: 'Europe/Berlin',
          templates: 3,
          processes: 250,
          tasksPerProcess: 10,
        },
        {
          id: ORG_B,
          name: 'Acme US',
          timezone: 'America/New_York',
          templates: 4,
          processes: 250,
          tasksPerProcess: [10, 14],
          overdueRatio: 0.3,
        },
      ],
    },
    nowMs: NOW,
    tokenExpiresAt: new Date(NOW + DAY).toISOString(),
    extraOrgs: [{ orgId: 'rep-org-disabled', status: 'disabled' }],
  });
  await writeClaims(world, CLAIMS);
  root = await mkdtemp(join(tmpdir(), 'reports-it-'));
});

afterAll(async () => {
  await closeSharedDispatchers();
  await world?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** The reporter as functions/reporter/index.ts wires it, with local adapters and a fixed clock. */
function reporter(outDir: string) {
  const emf: string[] = [];
  const clock = () => NOW;
  const tokens = createTokenProvider({
    store: createTokenStore({ client: world.secretsClient, prefix: SECRET_PREFIX, clock }),
    clock,
    requestRefresh: async () => {
      throw new Error('no refresh expected: the seeded tokens are valid');
    },
  });
  const apiFor = tallyfyApiPerOrg({
    auth: (orgId) => tokens.forOrg(orgId),
    client: { baseUrl: world.sandbox.url, clock, retry: { retryAfterCapMs: 1000 } },
  });
  const deps: ReportDeps = {
    source: tallyfyReportSource((orgId) => tallyfyClientLists(apiFor(orgId).client), {
      parseDate: parseTallyfyDateMs,
    }),
    sink: fileReportSink(outDir),
    orgs: registryOrgLister(world.registry),
    events: dynamoEventFigures({
      client: world.clients.document,
      tableName: world.tableName,
      clock,
      retentionDays: 60,
    }),
    metrics: powertoolsReportMetrics(
      createMetrics({ namespace: 'Test', serviceName: 'reporter', sink: (line) => emf.push(line) }),
    ),
    clock,
    concurrency: 2,
    periodDays: 30,
  };
  return { handler: createReporterHandler(deps), emf };
}

function seedOf(orgId: string): GeneratedOrg {
  const org = world.dataset.orgs.find((o) => o.org.id === orgId);
  if (org === undefined) throw new Error(`no seed org ${orgId}`);
  return org;
}

async function readReport(dir: string, orgId: string, day: string) {
  const folder = join(dir, 'reports', orgId, day);
  const files = (await readdir(folder)).sort();
  const doc = JSON.parse(await readFile(join(folder, 'report.json'), 'utf8')) as ReportDocument;
  const csv = async (name: string) => readFile(join(folder, `${name}.csv`), 'utf8');
  return { files, doc, csv };
}

/** Every table (JSON and CSV) and every total equals the independent computation. */
async function expectFigures(
  report: Awaited<ReturnType<typeof readReport>>,
  orgId: string,
  period: { sinceMs: number; untilMs: number },
  events: ReturnType<typeof claimCounts> | null = claimCounts(orgId, period),
) {
  const expected = expectedReport(seedOf(orgId), period, NOW, events);
  expect(report.doc.totals).toEqual(expected.totals);
  expect(Object.keys(report.doc.tables).sort()).toEqual(Object.keys(COLUMNS).sort());
  for (const [name, columns] of Object.entries(COLUMNS)) {
    const rows = expected.tables[name] ?? [];
    expect(report.doc.tables[name], name).toEqual(rows);
    expect(await report.csv(name), `${name}.csv`).toBe(csvOf(rows, columns));
  }
  expect(report.doc.eventFigures).toEqual(events);
}

describe('reporter against the seeded sandbox', () => {
  test('a scheduled run reports every active org with every figure equal to the seed data', async () => {
    // Prepare
    const a = seedOf(ORG_A);
    const b = seedOf(ORG_B);
    expect(a.templates.length + b.templates.length).toBeGreaterThanOrEqual(3);
    expect(a.runs.length + b.runs.length).toBe(500);
    expect(a.tasks.length + b.tasks.length).toBeGreaterThanOrEqual(5000);
    const out = join(root, 'scheduled');
    const { handler, emf } = reporter(out);

    // Act
    const result = (await handler(SCHEDULED)) as ReportRunResult;

    // Assess
    expect(result.period).toEqual({
      since: '2026-10-23T00:00:00.000Z',
      until: '2026-11-22T00:00:00.000Z',
    });
    expect(result.orgs.map((o) => [o.orgId, o.ok])).toEqual([
      [ORG_A, true],
      [ORG_B, true],
    ]);
    for (const orgId of [ORG_A, ORG_B]) {
      const report = await readReport(out, orgId, '2026-11-21');
      await expectFigures(report, orgId, PERIOD);
      const latest = await readReport(out, orgId, 'latest');
      expect(latest.doc).toEqual(report.doc);
      const seed = seedOf(orgId);
      const pages = Math.ceil(seed.runs.length / 100) + Math.ceil(seed.tasks.length / 100);
      expect(report.doc.metadata).toMatchObject({
        orgId,
        orgName: seed.org.name,
        timezone: seed.org.timezone,
        generatedAt: '2026-11-22T06:00:00.000Z',
        pagesFetched: pages,
        apiCalls: pages,
        retries: 0,
      });
      expect(report.files).toEqual(
        [...Object.keys(COLUMNS).map((n) => `${n}.csv`), 'report.html', 'report.json'].sort(),
      );
    }
    // the data set exercises every table: none of them is checked vacuously
    for (const orgId of [ORG_A, ORG_B]) {
      const expected = expectedReport(seedOf(orgId), PERIOD, NOW, claimCounts(orgId, PERIOD));
      for (const [name, rows] of Object.entries(expected.tables)) {
        expect(rows.length, `${orgId} ${name}`).toBeGreaterThan(0);
      }
      expect(expected.totals.overdueTasks).toBeGreaterThan(0);
    }
    // UTC and local times; Berlin leaves summer time on 25 Oct 2026, New York on 1 Nov 2026
    const docA = (await readReport(out, ORG_A, '2026-11-21')).doc.metadata;
    expect(docA.period).toEqual({
      since: '2026-10-23T00:00:00.000Z',
      until: '2026-11-22T00:00:00.000Z',
      sinceLocal: '2026-10-23T02:00:00+02:00',
      untilLocal: '2026-11-22T01:00:00+01:00',
    });
    expect(docA.generatedAtLocal).toBe('2026-11-22T07:00:00+01:00');
    const docB = (await readReport(out, ORG_B, '2026-11-21')).doc.metadata;
    expect(docB.period.sinceLocal).toBe('2026-10-22T20:00:00-04:00');
    expect(docB.period.untilLocal).toBe('2026-11-21T19:00:00-05:00');
    expect(docB.generatedAtLocal).toBe('2026-11-22T01:00:00-05:00');
    // the disabled org was not reported; metrics per org
    const written = emf.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      written
        .filter((m) => 'ReportsWritten' in m)
        .map((m) => m.orgId)
        .sort(),
    ).toEqual([ORG_A, ORG_B]);
    expect(
      written.filter((m) => 'ReportApiCalls' in m && m.orgId === ORG_A)[0]?.ReportApiCalls,
    ).toBe(
      Math.ceil(seedOf(ORG_A).runs.length / 100) + Math.ceil(seedOf(ORG_A).tasks.length / 100),
    );
  });

  test('an on-demand run reports one org over the period asked and leaves latest alone', async () => {
    const out = join(root, 'on-demand');
    const { handler } = reporter(out);
    const period = {
      sinceMs: Date.parse('2026-11-01T00:00:00Z'),
      untilMs: Date.parse('2026-11-15T00:00:00Z'),
    };

    const result = (await handler({
      orgId: ORG_B,
      since: '2026-11-01',
      until: '2026-11-15',
    })) as ReportRunResult;

    expect(result.orgs.map((o) => [o.orgId, o.ok])).toEqual([[ORG_B, true]]);
    await expectFigures(await readReport(out, ORG_B, '2026-11-14'), ORG_B, period);
    expect(await readdir(join(out, 'reports', ORG_B))).toEqual(['2026-11-14']);
  });

  test('a period older than the event records live says the event figures are not available', async () => {
    // claims live 60 days here (DEDUPE_TTL_DAYS): August is past that on 22 Nov
    const out = join(root, 'old-period');
    const { handler } = reporter(out);
    const period = {
      sinceMs: Date.parse('2026-08-01T00:00:00Z'),
      untilMs: Date.parse('2026-08-15T00:00:00Z'),
    };

    const result = (await handler({
      orgId: ORG_A,
      since: '2026-08-01',
      until: '2026-08-15',
    })) as ReportRunResult;

    expect(result.orgs).toMatchObject([{ orgId: ORG_A, ok: true }]);
    await expectFigures(await readReport(out, ORG_A, '2026-08-14'), ORG_A, period, null);
  });

  test('a 429 storm and a 503 mid-pagination are retried and counted; a persistent failure of one org leaves the other complete', async () => {
    // Prepare: org A's task pages answer 429 ×3 after page 4 and 503 once after page 12;
    // org B's task pages fail for good (503, every retry too) after page 5
    const out = join(root, 'faults');
    const { handler, emf } = reporter(out);
    const { sandbox } = world;
    const before = sandbox.stats().faultsInjected;
    const tasksOf = (org: string) => new RegExp(`^/api/organizations/${org}/tasks$`);
    const apiTasksOf = (org: string) => new RegExp(`^/organizations/${org}/tasks$`);
    world.afterRequests(tasksOf(ORG_A), 4, () =>
      sandbox.injectFault({ path: apiTasksOf(ORG_A), status: 429, retryAfterSeconds: 0, times: 3 }),
    );
    world.afterRequests(tasksOf(ORG_A), 12 + 3, () =>
      sandbox.injectFault({ path: apiTasksOf(ORG_A), status: 503, retryAfterSeconds: 0, times: 1 }),
    );
    world.afterRequests(tasksOf(ORG_B), 5, () =>
      sandbox.injectFault({ path: apiTasksOf(ORG_B), status: 503, retryAfterSeconds: 0 }),
    );

    // Act
    const result = (await handler(SCHEDULED)) as ReportRunResult;
    sandbox.clearFaults();

    // Assess: A complete and correct, with its 4 retries counted
    const a = result.orgs.find((o) => o.orgId === ORG_A);
    expect(a).toMatchObject({ ok: true, retries: 4 });
    const report = await readReport(out, ORG_A, '2026-11-21');
    await expectFigures(report, ORG_A, PERIOD);
    const pages =
      Math.ceil(seedOf(ORG_A).runs.length / 100) + Math.ceil(seedOf(ORG_A).tasks.length / 100);
    expect(report.doc.metadata).toMatchObject({
      pagesFetched: pages,
      apiCalls: pages + 4,
      retries: 4,
    });
    // B failed after the client's 4 retries; nothing of it was written
    const b = result.orgs.find((o) => o.orgId === ORG_B);
    expect(b).toMatchObject({ ok: false, code: 'TALLYFY_SERVER_ERROR' });
    await expect(readdir(join(out, 'reports', ORG_B))).rejects.toMatchObject({ code: 'ENOENT' });
    // 3 + 1 faults on A, 5 attempts (1 + 4 retries) on B's sixth page
    expect(sandbox.stats().faultsInjected - before).toBe(4 + 5);
    const metrics = emf.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(metrics.filter((m) => 'ReportsFailed' in m).map((m) => m.orgId)).toEqual([ORG_B]);
    expect(metrics.find((m) => 'ReportRetries' in m && m.orgId === ORG_A)?.ReportRetries).toBe(4);
  });
});

describe('orgs a scheduled report covers', () => {
  test('client-credentials orgs are left out: their app token reads no tasks or processes', async () => {
    await world.registry.createOrg({
      orgId: 'reportAppOnly',
      name: 'App only',
      authMode: 'client_credentials',
      credentialsSecretId: `${SECRET_PREFIX}/orgs/reportAppOnly/credentials`,
      tokenSecretId: `${SECRET_PREFIX}/orgs/reportAppOnly/token`,
      webhookSecretHash: 'c'.repeat(64),
    });
    const listed = (await registryOrgLister(world.registry).activeOrgs()).map((o) => o.orgId);
    expect(listed).toContain(ORG_A);
    expect(listed).not.toContain('reportAppOnly');
    await world.registry.removeOrg('reportAppOnly');
  });
});
