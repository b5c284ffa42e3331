import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  fileReportSink,
  type OrgLister,
  type OrgRunFigures,
  type ReportDeps,
  type ReportDocument,
  ReportOrgNotFoundError,
  type ReportProcess,
  type ReportSource,
  type ReportTask,
  runReports,
} from '../../../shared/reports/index.ts';

const H = 3_600_000;
const firedAt = Date.parse('2026-11-23T06:00:00Z');
const since = Date.parse('2026-11-22T00:00:00Z');

/** Serves fixed processes and tasks in pages of `pageSize`, failing for the orgs listed. */
function pagedSource(
  data: Record<string, { processes: ReportProcess[]; tasks: ReportTask[] }>,
  options: { pageSize?: number; failingOrgs?: string[]; callsPerPage?: number } = {},
): ReportSource {
  const size = options.pageSize ?? 2;
  async function* pages<T>(orgId: string, items: T[]) {
    if (options.failingOrgs?.includes(orgId)) {
      throw Object.assign(new Error('Tallyfy answered 503 five times'), { code: 'TALLYFY_HTTP' });
    }
    for (let i = 0; i < items.length; i += size) {
      yield { items: items.slice(i, i + size), calls: options.callsPerPage ?? 1 };
    }
  }
  return {
    processes: (orgId) => pages(orgId, data[orgId]?.processes ?? []),
    tasks: (orgId) => pages(orgId, data[orgId]?.tasks ?? []),
  };
}

function lister(orgs: { orgId: string; timezone?: string }[]): OrgLister {
  return {
    activeOrgs: async () => orgs,
    getOrg: async (orgId) => orgs.find((o) => o.orgId === orgId),
  };
}

const dataset = {
  o1: {
    processes: [
      {
        id: 'p1',
        templateId: 't1',
        templateTitle: 'Onboarding, EU',
        launchedAtMs: since + H,
        completedAtMs: since + 5 * H,
        open: false,
      },
      {
        id: 'p2',
        templateId: 't1',
        templateTitle: 'Onboarding, EU',
        launchedAtMs: since + 2 * H,
        completedAtMs: null,
        open: true,
      },
    ],
    tasks: [
      {
        id: 'k1',
        processId: 'p2',
        open: true,
        deadlineMs: firedAt - 2 * H,
        completedAtMs: null,
        assigneeIds: ['u1'],
      },
      {
        id: 'k2',
        processId: 'p1',
        open: false,
        deadlineMs: null,
        completedAtMs: since + 4 * H,
        assigneeIds: ['u2'],
      },
      {
        id: 'k3',
        processId: 'p2',
        open: true,
        deadlineMs: firedAt + 30 * H,
        completedAtMs: null,
        assigneeIds: [],
      },
    ],
  },
  o2: { processes: [], tasks: [] },
} satisfies Record<string, { processes: ReportProcess[]; tasks: ReportTask[] }>;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'reports-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function deps(overrides: Partial<ReportDeps> = {}): ReportDeps & { figures: OrgRunFigures[] } {
  const figures: OrgRunFigures[] = [];
  let now = firedAt;
  return {
    figures,
    source: pagedSource(dataset),
    sink: fileReportSink(root),
    orgs: lister([{ orgId: 'o1', timezone: 'Europe/Berlin' }, { orgId: 'o2' }]),
    metrics: { orgFinished: (f) => figures.push(f) },
    // each reading advances 5 ms, so durations are known without sleeping
    clock: () => {
      now += 5;
      return now;
    },
    ...overrides,
  };
}

async function readJson(key: string): Promise<ReportDocument> {
  return JSON.parse(await readFile(join(root, key), 'utf8')) as ReportDocument;
}

describe('runReports', () => {
  test('a scheduled run writes every table, report.html and report.json under the day and latest', async () => {
    const result = await runReports(deps(), { kind: 'scheduled', firedAtMs: firedAt });
    expect(result.orgs.map((o) => o.ok)).toEqual([true, true]);
    const files = (await readdir(join(root, 'reports/o1/2026-11-22'))).sort();
    expect(files).toEqual([
      'cycle-time-by-template.csv',
      'due-next-7-days.csv',
      'event-figures.csv',
      'open-processes-by-template.csv',
      'overdue-by-assignee.csv',
      'overdue-by-template.csv',
      'processes-per-day.csv',
      'report.html',
      'report.json',
      'tasks-completed-by-assignee.csv',
    ]);
    expect((await readdir(join(root, 'reports/o1/latest'))).sort()).toEqual(files);
    const csv = await readFile(join(root, 'reports/o1/2026-11-22/open-processes-by-template.csv'));
    expect(csv.toString()).toBe(
      'templateId,templateTitle,openProcesses\r\nt1,"Onboarding, EU",1\r\n',
    );
  });

  test('report.json carries the metadata, UTC and the org time zone', async () => {
    await runReports(deps(), { kind: 'scheduled', firedAtMs: firedAt });
    const doc = await readJson('reports/o1/2026-11-22/report.json');
    expect(doc.metadata).toMatchObject({
      orgId: 'o1',
      timezone: 'Europe/Berlin',
      period: {
        since: '2026-11-22T00:00:00.000Z',
        until: '2026-11-23T00:00:00.000Z',
        sinceLocal: '2026-11-22T01:00:00+01:00',
        untilLocal: '2026-11-23T01:00:00+01:00',
      },
      pagesFetched: 3,
      apiCalls: 3,
      retries: 0,
    });
    expect(doc.metadata.durationMs).toBeGreaterThan(0);
    expect(doc.tables['overdue-by-assignee']).toEqual([
      { assigneeId: 'u1', overdueTasks: 1, maxOverdueHours: 2, meanOverdueHours: 2 },
    ]);
    expect(doc.tables['tasks-completed-by-assignee']).toEqual([
      { assigneeId: 'u2', tasksCompleted: 1 },
    ]);
    expect(doc.tables['due-next-7-days']).toEqual([{ day: '2026-11-24', tasks: 1 }]);
  });

  test('event figures say "not available" until a source for them exists', async () => {
    await runReports(deps(), { kind: 'scheduled', firedAtMs: firedAt });
    const doc = await readJson('reports/o2/2026-11-22/report.json');
    expect(doc.eventFigures).toBeNull();
    expect(doc.metadata.timezone).toBeNull();
    expect(doc.metadata.generatedAtLocal).toBeNull();
    const csv = await readFile(join(root, 'reports/o2/2026-11-22/event-figures.csv'), 'utf8');
    expect(csv).toBe('available,received,recovered,deadLettered\r\nfalse,,,\r\n');
  });

  test('event figures are reported when the port answers', async () => {
    const counts = { received: 41, recovered: 2, deadLettered: 1 };
    await runReports(deps({ events: { counts: async () => counts } }), {
      kind: 'scheduled',
      firedAtMs: firedAt,
    });
    const doc = await readJson('reports/o1/latest/report.json');
    expect(doc.eventFigures).toEqual(counts);
  });

  test("one org's failure leaves the other org's report complete and is counted", async () => {
    const run = deps({ source: pagedSource(dataset, { failingOrgs: ['o1'] }) });
    const result = await runReports(run, { kind: 'scheduled', firedAtMs: firedAt });
    expect(result.orgs).toEqual([
      { orgId: 'o1', ok: false, code: 'TALLYFY_HTTP', message: 'Tallyfy answered 503 five times' },
      expect.objectContaining({ orgId: 'o2', ok: true }),
    ]);
    expect(await readdir(join(root, 'reports'))).toEqual(['o2']);
    expect(run.figures.map((f) => [f.orgId, f.ok])).toEqual([
      ['o1', false],
      ['o2', true],
    ]);
  });

  test('retries are the calls beyond one per page', async () => {
    const run = deps({ source: pagedSource(dataset, { callsPerPage: 3 }) });
    await runReports(run, {
      kind: 'on-demand',
      orgId: 'o1',
      period: { sinceMs: since, untilMs: since + 24 * H },
    });
    const doc = await readJson('reports/o1/2026-11-22/report.json');
    expect(doc.metadata).toMatchObject({ pagesFetched: 3, apiCalls: 9, retries: 6 });
  });

  test('an on-demand backfill writes its day but leaves latest alone', async () => {
    const period = { sinceMs: since - 7 * 24 * H, untilMs: since - 6 * 24 * H };
    const result = await runReports(deps(), { kind: 'on-demand', orgId: 'o1', period });
    expect(result.orgs[0]).toMatchObject({ ok: true });
    expect(await readdir(join(root, 'reports/o1'))).toEqual(['2026-11-15']);
  });

  test('a re-run for the same day overwrites the same keys', async () => {
    const first = await runReports(deps(), { kind: 'scheduled', firedAtMs: firedAt });
    const again = await runReports(deps(), { kind: 'scheduled', firedAtMs: firedAt + 60_000 });
    expect(again.orgs.map((o) => (o.ok ? o.keys : []))).toEqual(
      first.orgs.map((o) => (o.ok ? o.keys : [])),
    );
    const day = await readdir(join(root, 'reports/o1/2026-11-22'));
    expect(day.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('an on-demand run for an unknown org fails with a typed error', async () => {
    await expect(
      runReports(deps(), {
        kind: 'on-demand',
        orgId: 'nope',
        period: { sinceMs: since, untilMs: since + H },
      }),
    ).rejects.toBeInstanceOf(ReportOrgNotFoundError);
  });

  test('orgs are reported at most `concurrency` at once', async () => {
    let running = 0;
    let peak = 0;
    const many = Array.from({ length: 9 }, (_, i) => ({ orgId: `org${i}` }));
    const source: ReportSource = {
      async *processes() {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        yield { items: [], calls: 1 };
      },
      async *tasks() {
        running--;
        yield { items: [], calls: 1 };
      },
    };
    const result = await runReports(deps({ source, orgs: lister(many), concurrency: 3 }), {
      kind: 'scheduled',
      firedAtMs: firedAt,
    });
    expect(result.orgs.filter((o) => o.ok)).toHaveLength(9);
    expect(peak).toBe(3);
  });
});
