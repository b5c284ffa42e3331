import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createReporterHandler } from '../../../functions/reporter/handler.ts';
import { createLogger, memorySink } from '../../../shared/observability/index.ts';
import {
  fileReportSink,
  type ReportDeps,
  ReportInputError,
  type ReportSource,
} from '../../../shared/reports/index.ts';

const firedAt = Date.parse('2026-11-23T06:00:00Z');

const source: ReportSource = {
  async *processes(orgId) {
    if (orgId === 'broken') {
      throw Object.assign(new Error('Tallyfy answered 500'), { code: 'TALLYFY_SERVER' });
    }
    yield {
      items: [
        {
          id: `${orgId}-p1`,
          templateId: 't1',
          templateTitle: 'Hiring',
          launchedAtMs: firedAt - 30 * 3_600_000,
          completedAtMs: null,
          open: true,
        },
      ],
      calls: 1,
    };
  },
  async *tasks() {
    yield { items: [], calls: 1 };
  },
};

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'reporter-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function setup() {
  const captured = memorySink();
  const deps: ReportDeps = {
    source,
    sink: fileReportSink(root),
    orgs: {
      activeOrgs: async () => [{ orgId: 'good' }, { orgId: 'broken' }],
      getOrg: async (orgId) => (orgId === 'good' ? { orgId } : undefined),
    },
    log: createLogger({ serviceName: 'reporter', sink: captured.sink }),
    clock: () => firedAt,
  };
  return { handler: createReporterHandler(deps), captured };
}

describe('reporter handler', () => {
  test('a scheduled event reports every active org and logs which failed', async () => {
    const { handler, captured } = setup();
    const result = await handler({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      time: '2026-11-23T06:00:00Z',
      detail: {},
    });
    expect(result.orgs.map((o) => [o.orgId, o.ok])).toEqual([
      ['good', true],
      ['broken', false],
    ]);
    const summary = captured.records().find((r) => r.message === 'reports finished');
    expect(summary).toMatchObject({ kind: 'scheduled', orgs: 2, failed: ['broken'] });
    const failure = captured.records().find((r) => r.message === 'report failed');
    expect(failure).toMatchObject({ orgId: 'broken', code: 'TALLYFY_SERVER' });
    const csv = await readFile(
      join(root, 'reports/good/2026-11-22/open-processes-by-template.csv'),
      'utf8',
    );
    expect(csv).toBe('templateId,templateTitle,openProcesses\r\nt1,Hiring,1\r\n');
  });

  test('an on-demand request reports one org over the period asked', async () => {
    const { handler } = setup();
    const result = await handler({ orgId: 'good', since: '2026-11-01', until: '2026-11-08' });
    expect(result.period).toEqual({
      since: '2026-11-01T00:00:00.000Z',
      until: '2026-11-08T00:00:00.000Z',
    });
    expect(result.orgs).toMatchObject([
      {
        orgId: 'good',
        ok: true,
        keys: expect.arrayContaining(['reports/good/2026-11-07/report.json']),
      },
    ]);
  });

  test('a malformed request is refused before anything is fetched', async () => {
    const { handler } = setup();
    await expect(handler({ orgId: 'good', since: 'yesterday' })).rejects.toBeInstanceOf(
      ReportInputError,
    );
  });
});
