import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  generateDataset,
  type SeedSpec,
  type StartedSandbox,
  startSandbox,
} from '../../../local/tallyfy-sandbox/index.ts';
import { api } from './support.ts';

const small: SeedSpec = {
  seed: 7,
  orgs: [
    { id: 'org-a', templates: 2, processes: 50, tasksPerProcess: [2, 5], overdueRatio: 0.3 },
    { id: 'org-b', templates: 1, processes: 20, tasksPerProcess: 3 },
  ],
};

describe('SeedSpec data sets', () => {
  test('the same seed gives the same data; another seed gives other data', () => {
    const a = generateDataset(small);
    const b = generateDataset(small);
    expect(JSON.stringify(a.orgs.map((o) => [o.runs, o.tasks]))).toBe(
      JSON.stringify(b.orgs.map((o) => [o.runs, o.tasks])),
    );
    const c = generateDataset({ ...small, seed: 8 });
    expect(c.orgs[0]?.tasks[0]?.id).not.toBe(a.orgs[0]?.tasks[0]?.id);
  });

  test('generated data is consistent: statuses, timestamps, overdue deadlines', () => {
    const data = generateDataset(small);
    const orgA = data.orgs[0];
    if (!orgA) throw new Error('org-a missing');
    expect(orgA.runs).toHaveLength(50);
    for (const run of orgA.runs) {
      const tasks = orgA.tasks.filter((t) => t.runId === run.id);
      expect(tasks.length).toBeGreaterThanOrEqual(2);
      expect(tasks.length).toBeLessThanOrEqual(5);
      const allDone = tasks.every((t) => t.status === 'completed');
      expect(run.status).toBe(allDone ? 'completed' : 'active');
      for (const t of tasks) {
        expect(t.createdAt <= data.now).toBe(true);
        if (t.status === 'completed') {
          expect(t.completedAt && t.completedAt >= t.createdAt && t.completedAt <= data.now).toBe(
            true,
          );
          expect(t.completedBy).not.toBeNull();
        } else {
          expect(t.completedAt).toBeNull();
        }
      }
    }
    const open = orgA.tasks.filter((t) => t.status !== 'completed');
    const overdue = open.filter((t) => t.deadline !== null && t.deadline < data.now);
    expect(overdue.length).toBeGreaterThan(0);
    expect(overdue.length).toBeLessThan(open.length);
  });
});

describe('sandbox seeded with 100,000 tasks across 10 orgs', () => {
  const spec: SeedSpec = {
    seed: 2026,
    orgs: Array.from({ length: 10 }, (_, i) => ({
      id: `org-big-${i}`,
      templates: 3,
      processes: 2500,
      tasksPerProcess: 4,
    })),
  };
  let sandbox: StartedSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: spec });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  test('holds every generated task and answers the same figures over HTTP', async () => {
    expect(sandbox.store.tasks.size).toBe(100_000);
    const data = sandbox.dataset;
    const org = data?.orgs[3];
    if (!org) throw new Error('dataset missing');
    const token = sandbox.issuePersonalAccessToken(org.admin.id);
    const headers = { 'x-tallyfy-client': 'APIClient', authorization: `Bearer ${token}` };
    const res = await fetch(
      `${sandbox.url}/organizations/${org.org.id}/tasks?status=completed&per_page=100`,
      { headers },
    );
    const body = (await res.json()) as { meta: { pagination: { total: number } } };
    expect(body.meta.pagination.total).toBe(
      org.tasks.filter((t) => t.status === 'completed').length,
    );
  });

  test('paging through an org’s tasks stays fast', async () => {
    const org = sandbox.dataset?.orgs[0];
    if (!org) throw new Error('dataset missing');
    const token = sandbox.issuePersonalAccessToken(org.admin.id);
    const started = performance.now();
    let seen = 0;
    for (let page = 1; page <= 100; page++) {
      const res = await api(
        sandbox,
        'GET',
        `/organizations/${org.org.id}/tasks?status=active&sort=-updated_at&per_page=100&page=${page}`,
        { token },
      );
      seen += res.body.data.length;
      if (!res.body.meta.pagination.links.next) break;
    }
    const elapsed = performance.now() - started;
    expect(seen).toBe(org.tasks.filter((t) => t.status !== 'completed').length);
    // 10,000 tasks in 100 pages: a cached filter keeps this well under a second
    expect(elapsed).toBeLessThan(3000);
  });
});
