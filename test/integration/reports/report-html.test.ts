/**
 * report.html: written beside the CSVs and report.json, one self-contained page whose charts
 * carry the report's figures and the org's event flow from the registry's hourly counters
 * (DynamoDB Local), with no external reference.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  dynamoEventFigures,
  fileReportSink,
  type ReportDocument,
  type ReportProcess,
  type ReportSource,
  type ReportTask,
  runReports,
} from '../../../shared/reports/index.ts';
import { freshRegistry, testClock } from '../orgs/support.ts';

const ORG = 'org5f4e3d2c1b0a';
const H = 3_600_000;
const since = Date.parse('2026-11-22T00:00:00Z');
const firedAt = Date.parse('2026-11-23T06:00:00Z');

const processes: ReportProcess[] = [
  {
    id: 'p1',
    templateId: 't1',
    templateTitle: '<b>PO</b> approval',
    launchedAtMs: since + H,
    completedAtMs: since + 5 * H,
    open: false,
  },
  {
    id: 'p2',
    templateId: 't1',
    templateTitle: '<b>PO</b> approval',
    launchedAtMs: since + 2 * H,
    completedAtMs: null,
    open: true,
  },
  {
    id: 'p3',
    templateId: 't2',
    templateTitle: 'Onboarding',
    launchedAtMs: since + 3 * H,
    completedAtMs: since + 9 * H,
    open: false,
  },
];
const tasks: ReportTask[] = [
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
    processId: 'p2',
    open: true,
    deadlineMs: firedAt - 3 * H,
    completedAtMs: null,
    assigneeIds: ['u2'],
  },
];
const source: ReportSource = {
  async *processes() {
    yield { items: processes, calls: 1 };
  },
  async *tasks() {
    yield { items: tasks, calls: 1 };
  },
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'report-html-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('report.html', () => {
  test('a self-contained page with every chart and the right number of points, event flow from the counters', async () => {
    const clock = testClock('2026-11-22T09:15:00.000Z');
    const { registry, clients, tableName } = await freshRegistry('report-html', { clock });
    // counting began at 09:00 on the report's day: 3 events then, 1 dead-lettered at 14:00
    for (const task of ['a', 'b', 'c']) {
      await registry.claimEvent(`task.completed:${task}:2026-11-22T09:00:00.000Z`, {
        orgId: ORG,
        origin: 'webhook',
      });
    }
    clock.set('2026-11-22T14:10:00.000Z');
    await registry.claimEvent('task.completed:d:2026-11-22T14:00:00.000Z', {
      orgId: ORG,
      origin: 'reconciler',
    });
    await registry.markEvent('task.completed:d:2026-11-22T14:00:00.000Z', 'failed');

    const now = firedAt;
    const result = await runReports(
      {
        source,
        sink: fileReportSink(root),
        orgs: { activeOrgs: async () => [{ orgId: ORG }], getOrg: async () => ({ orgId: ORG }) },
        events: dynamoEventFigures({
          client: clients.document,
          tableName,
          clock: () => now,
          retentionDays: 7,
        }),
        clock: () => now,
      },
      { kind: 'scheduled', firedAtMs: firedAt },
    );
    expect(result.orgs[0]).toMatchObject({ ok: true });
    const folder = join(root, 'reports', ORG, '2026-11-22');
    const html = await readFile(join(folder, 'report.html'), 'utf8');
    const doc = JSON.parse(await readFile(join(folder, 'report.json'), 'utf8')) as ReportDocument;

    // nothing that could make a request: no script, no external src/href, no URL at all; the
    // only reference is the empty data: icon; a CSP that forbids any request
    expect(html).not.toMatch(/<script|<img|<iframe|url\(|https?:|\/\//i);
    expect([...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1])).toEqual(['data:,']);
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`,
    );
    expect(html).toContain('&lt;b&gt;PO&lt;/b&gt; approval');

    const chartPoints = (id: string) =>
      Number(new RegExp(`data-chart="${id}" data-points="(\\d+)"`).exec(html)?.[1]);
    expect(chartPoints('processes-per-day')).toBe(2); // one day, launched + completed
    expect(chartPoints('cycle-time-by-template')).toBe(4); // 2 templates × median, p90
    expect(chartPoints('overdue-by-template')).toBe(1);
    expect(chartPoints('overdue-by-assignee')).toBe(2);
    // 24 hours × 3 figures, hours before 09:00 have no data
    expect(chartPoints('event-flow')).toBe(15 * 3);
    expect(doc.eventFlow?.bucket).toBe('hour');
    const at = (hour: string) =>
      doc.eventFlow?.buckets.find((b) => b.start === `2026-11-22T${hour}:00:00.000Z`);
    expect(at('08')).toMatchObject({ received: null, recovered: null, deadLettered: null });
    expect(at('09')).toMatchObject({ received: 3, recovered: 0, deadLettered: 0 });
    expect(at('14')).toMatchObject({ received: 0, recovered: 1, deadLettered: 1 });
  });

  test('a period older than the counters keep says the flow is not available', async () => {
    const { clients, tableName } = await freshRegistry('report-html-old');
    const now = Date.parse('2026-12-30T06:00:00Z');
    await runReports(
      {
        source,
        sink: fileReportSink(root),
        orgs: { activeOrgs: async () => [], getOrg: async () => ({ orgId: ORG }) },
        events: dynamoEventFigures({
          client: clients.document,
          tableName,
          clock: () => now,
          retentionDays: 7,
        }),
        clock: () => now,
      },
      { kind: 'on-demand', orgId: ORG, period: { sinceMs: since, untilMs: since + 86_400_000 } },
    );
    const html = await readFile(join(root, 'reports', ORG, '2026-11-22', 'report.html'), 'utf8');
    expect(html).toContain('Not available: event counting does not cover this period.');
    expect(html).toMatch(/data-chart="event-flow" data-points="0"/);
  });
});
