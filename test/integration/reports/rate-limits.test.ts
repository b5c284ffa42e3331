/**
 * Issue 12 §3, the reporter's side: a `Retry-After` longer than the client waits (90 s) is
 * waited out in full when it fits what the invocation has left; otherwise the org stops cleanly
 * (deferred, not failed) with its period kept, and the next scheduled run reports it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createReporterHandler } from '../../../functions/reporter/handler.ts';
import { createMetrics } from '../../../shared/observability/index.ts';
import {
  fileReportSink,
  powertoolsReportMetrics,
  type ReportDeps,
  type ReportRunResult,
  registryOrgLister,
  registryPendingReports,
  tallyfyClientLists,
  tallyfyReportSource,
} from '../../../shared/reports/index.ts';
import {
  closeSharedDispatchers,
  parseTallyfyDateMs,
  tallyfyApiPerOrg,
} from '../../../shared/tallyfy/index.ts';
import { createTokenProvider, createTokenStore } from '../../../shared/tokens/index.ts';
import { type ReportWorld, SECRET_PREFIX, startReportWorld } from './support.ts';

const NOW = Date.parse('2026-11-22T06:00:00.000Z');
const DAY = 86_400_000;
const ORG = 'rl-org';
const scheduled = (time: string) => ({
  version: '0',
  id: 'c8d1f6e2-0000-4000-8000-000000000002',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time,
  region: 'eu-west-1',
  resources: [],
  detail: {},
});
/** Lambda's context with this much time left. */
const remaining = (ms: number) => ({ getRemainingTimeInMillis: () => ms });

let world: ReportWorld;
let root: string;
let now: number;

beforeAll(async () => {
  world = await startReportWorld({
    spec: {
      seed: 7,
      orgs: [{ id: ORG, templates: 2, processes: 30, tasksPerProcess: 8 }],
    },
    nowMs: NOW,
    tokenExpiresAt: new Date(NOW + 30 * DAY).toISOString(),
  });
  root = await mkdtemp(join(tmpdir(), 'reports-rl-'));
});

afterAll(async () => {
  await closeSharedDispatchers();
  await world?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  now = NOW;
  world.sandbox.clearFaults();
});

/** The reporter as wired, with a clock that the waits move (nothing sleeps). */
function reporter(outDir: string) {
  const emf: string[] = [];
  const waits: number[] = [];
  const clock = () => now;
  const tokens = createTokenProvider({
    store: createTokenStore({ client: world.secretsClient, prefix: SECRET_PREFIX, clock }),
    clock,
    requestRefresh: async () => {
      throw new Error('no refresh expected');
    },
  });
  const apiFor = tallyfyApiPerOrg({
    auth: (orgId) => tokens.forOrg(orgId),
    // the client's own waits (capped at 30 s in production) are recorded, not slept
    client: { baseUrl: world.sandbox.url, clock, sleep: async () => undefined },
  });
  const deps: ReportDeps = {
    source: tallyfyReportSource((orgId) => tallyfyClientLists(apiFor(orgId).client), {
      parseDate: parseTallyfyDateMs,
    }),
    sink: fileReportSink(outDir),
    orgs: registryOrgLister(world.registry),
    pending: registryPendingReports(world.registry),
    metrics: powertoolsReportMetrics(
      createMetrics({ namespace: 'Test', serviceName: 'reporter', sink: (line) => emf.push(line) }),
    ),
    clock,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    periodDays: 1,
  };
  return { handler: createReporterHandler(deps), emf, waits };
}

/** Every attempt at the org's task list answers 429 with Retry-After: 90, `times` times. */
function rateLimitTasks(times: number) {
  world.sandbox.injectFault({
    method: 'GET',
    path: `/organizations/${ORG}/tasks`,
    status: 429,
    retryAfterSeconds: 90,
    times,
  });
}

const metricsOf = (emf: readonly string[]) =>
  emf.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('reporter and long rate limits', () => {
  test('a 90 s Retry-After is waited out in full when the invocation has the time', async () => {
    const out = join(root, 'fits');
    const { handler, waits } = reporter(out);
    // one 429: a Retry-After beyond the client's cap comes back at once (no early retries)
    rateLimitTasks(1);
    const result = (await handler(
      scheduled('2026-11-22T06:00:00Z'),
      remaining(10 * 60_000),
    )) as ReportRunResult;
    expect(waits).toEqual([90_000]);
    expect(result.orgs).toMatchObject([{ orgId: ORG, ok: true }]);
    expect(await readdir(join(out, 'reports', ORG))).toContain('2026-11-21');
  });

  test('a Retry-After longer than the time left defers the org; the next scheduled run reports the period', async () => {
    const out = join(root, 'deferred');
    const { handler, emf, waits } = reporter(out);
    rateLimitTasks(1);
    const first = (await handler(
      scheduled('2026-11-22T06:00:00Z'),
      remaining(60_000),
    )) as ReportRunResult;
    expect(waits).toEqual([]);
    const [deferred] = first.orgs;
    expect(deferred).toMatchObject({
      orgId: ORG,
      ok: false,
      code: 'TALLYFY_RATE_LIMITED',
      deferred: { resumeAfter: new Date(NOW + 90_000).toISOString() },
    });
    // not a failed report: no ReportsFailed, nothing half-written
    const metrics = metricsOf(emf);
    expect(metrics.filter((m) => 'ReportsFailed' in m)).toEqual([]);
    expect(metrics.filter((m) => 'ReportsDeferred' in m).map((m) => m.orgId)).toEqual([ORG]);
    await expect(readdir(join(out, 'reports', ORG))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await registryPendingReports(world.registry).get(ORG)).toEqual([
      {
        sinceMs: Date.parse('2026-11-21T00:00:00Z'),
        untilMs: Date.parse('2026-11-22T00:00:00Z'),
        resumeAfterMs: NOW + 90_000,
      },
    ]);

    // the next day's run: the deferred day first, then its own
    now = NOW + DAY;
    const next = (await handler(
      scheduled('2026-11-23T06:00:00Z'),
      remaining(10 * 60_000),
    )) as ReportRunResult;
    expect(next.orgs).toMatchObject([
      {
        orgId: ORG,
        ok: true,
        period: { since: '2026-11-21T00:00:00.000Z', until: '2026-11-22T00:00:00.000Z' },
      },
      { orgId: ORG, ok: true },
    ]);
    expect((await readdir(join(out, 'reports', ORG))).sort()).toEqual([
      '2026-11-21',
      '2026-11-22',
      'latest',
    ]);
    expect(await registryPendingReports(world.registry).get(ORG)).toEqual([]);
  });
});
