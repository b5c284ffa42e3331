import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { formatRequestDate } from '../../../shared/tallyfy/index.ts';
import { api, manualClock, passwordGrant } from './support.ts';

describe('sandbox resources', () => {
  const clock = manualClock();
  let sandbox: StartedSandbox;
  let token: string;
  let org: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ clock: clock.now });
    token = (await passwordGrant(sandbox)).access_token;
    org = `/organizations/${sandbox.demo.orgId}`;
  });
  afterAll(async () => {
    await sandbox.close();
  });

  test('lists answer the pagination envelope with a next link', async () => {
    const res = await api(sandbox, 'GET', `${org}/runs?per_page=2`, { token });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.meta.pagination).toMatchObject({
      total: sandbox.store.runsOf(sandbox.demo.orgId).length,
      count: 2,
      per_page: 2,
      current_page: 1,
      total_pages: 2,
    });
    const next = new URL(res.body.meta.pagination.links.next);
    expect(next.searchParams.get('page')).toBe('2');
    const last = await api(sandbox, 'GET', `${org}/runs?per_page=2&page=2`, { token });
    expect(last.body.meta.pagination.links.next).toBeUndefined();
  });

  test('per_page defaults to 10 and over 100 is 422 with field errors', async () => {
    const tasks = await api(sandbox, 'GET', `${org}/tasks`, { token });
    expect(tasks.body.meta.pagination.per_page).toBe(10);
    const res = await api(sandbox, 'GET', `${org}/tasks?per_page=101`, { token });
    expect(res.status).toBe(422);
    expect(res.body.errors.per_page).toHaveLength(1);
  });

  test('runs filter by status and checklist and sort newest first', async () => {
    const done = await api(sandbox, 'GET', `${org}/runs?status=completed`, { token });
    expect(done.body.data.map((r: { id: string }) => r.id)).toEqual([
      sandbox.demo.runs.purchaseOrderCompleted,
    ]);
    const po = await api(
      sandbox,
      'GET',
      `${org}/runs?checklist_id=${sandbox.demo.templates.purchaseOrder.id}&sort=-created_at`,
      { token },
    );
    const created = po.body.data.map((r: { created_at: string }) => r.created_at);
    expect(created).toEqual([...created].sort().reverse());
    expect(po.body.data).toHaveLength(2);
    const bad = await api(sandbox, 'GET', `${org}/runs?sort=-nonsense`, { token });
    expect(bad.status).toBe(422);
  });

  test('tasks filter by status, owner and overdue', async () => {
    const mine = await api(
      sandbox,
      'GET',
      `${org}/tasks?owner=${sandbox.demo.standard.id}&status=in-progress`,
      { token },
    );
    expect(mine.body.data.map((t: { id: string }) => t.id)).toEqual([sandbox.demo.tasks.approvePo]);
    const overdue = await api(sandbox, 'GET', `${org}/tasks?status=overdue&per_page=100`, {
      token,
    });
    const nowIso = new Date(clock.now()).toISOString();
    expect(overdue.body.data.length).toBeGreaterThan(0);
    for (const t of overdue.body.data) {
      expect(t.status).not.toBe('completed');
      expect(t.deadline < nowIso).toBe(true);
    }
  });

  test('time filters read YYYY-MM-DD HH:MM:SS as UTC and refuse day before month', async () => {
    const runs = sandbox.store.runsOf(sandbox.demo.orgId);
    const newest = runs.map((r) => r.createdAt).sort()[runs.length - 1] as string;
    const sent = formatRequestDate(newest);
    const after = await api(
      sandbox,
      'GET',
      `${org}/runs?created_after=${encodeURIComponent(sent)}`,
      {
        token,
      },
    );
    expect(after.status).toBe(200);
    // _after is inclusive and the formatter keeps whole seconds: the newest run is in
    expect(after.body.data.map((r: { created_at: string }) => r.created_at)).toContain(newest);
    const iso = await api(
      sandbox,
      'GET',
      `${org}/runs?created_after=${encodeURIComponent(newest)}`,
      {
        token,
      },
    );
    expect(iso.body.data.map((r: { created_at: string }) => r.created_at)).toEqual([newest]);
    // the day-before-month form of older docs names month 22: refused like any bad date
    const swapped = await api(sandbox, 'GET', `${org}/runs?created_after=2026-22-11%2012:00:00`, {
      token,
    });
    expect(swapped.status).toBe(422);
    expect(swapped.body.errors.created_after).toHaveLength(1);
  });

  test('a template answers with its steps', async () => {
    const res = await api(
      sandbox,
      'GET',
      `${org}/checklists/${sandbox.demo.templates.purchaseOrder.id}`,
      {
        token,
      },
    );
    expect(res.body.data.steps.map((s: { alias: string }) => s.alias)).toEqual([
      'request-details',
      'approve-po',
      'issue-po',
    ]);
  });

  test('launch, complete every task and comment change the state', async () => {
    const launched = await api(sandbox, 'POST', `${org}/runs`, {
      token,
      body: {
        checklist_id: sandbox.demo.templates.purchaseOrder.id,
        name: 'PO - test',
        prerun: { vendor: 'Fabrikam' },
      },
    });
    expect(launched.status).toBe(201);
    const runId = launched.body.data.id as string;
    expect(launched.body.data.status).toBe('active');
    const tasks = await api(sandbox, 'GET', `${org}/runs/${runId}/tasks`, { token });
    expect(tasks.body.data.map((t: { alias: string }) => t.alias)).toEqual([
      'request-details',
      'approve-po',
      'issue-po',
    ]);

    clock.advance(60_000);
    const [first, ...rest] = tasks.body.data as Array<{ id: string }>;
    const completed = await api(sandbox, 'POST', `${org}/runs/${runId}/completed-tasks`, {
      token,
      body: { task_id: first?.id },
    });
    expect(completed.status).toBe(200);
    expect(completed.body.data.completed_at).toBe(new Date(clock.now()).toISOString());
    expect(completed.body.data.completed_by).toBe(sandbox.demo.admin.id);
    const again = await api(sandbox, 'POST', `${org}/runs/${runId}/completed-tasks`, {
      token,
      body: { task_id: first?.id },
    });
    expect(again.status).toBe(422);

    for (const task of rest) {
      await api(sandbox, 'POST', `${org}/runs/${runId}/completed-tasks`, {
        token,
        body: { task_id: task.id },
      });
    }
    const run = await api(sandbox, 'GET', `${org}/runs/${runId}`, { token });
    expect(run.body.data).toMatchObject({ status: 'completed', progress: 100 });
    expect(sandbox.store.runs.get(runId)?.completedAt).toBe(new Date(clock.now()).toISOString());

    const comment = await api(sandbox, 'POST', `${org}/tasks/${first?.id}/comment`, {
      token,
      body: { content: 'Looks good' },
    });
    expect(comment.status).toBe(201);
    expect(sandbox.store.commentsOf(first?.id ?? '').map((c) => c.content)).toEqual(['Looks good']);
  });

  test('launch validates like Laravel: missing name and unknown template are 422', async () => {
    const noName = await api(sandbox, 'POST', `${org}/runs`, {
      token,
      body: { checklist_id: sandbox.demo.templates.purchaseOrder.id },
    });
    expect(noName.status).toBe(422);
    expect(noName.body.errors.name).toEqual(['The name field is required.']);
    const unknown = await api(sandbox, 'POST', `${org}/runs`, {
      token,
      body: { checklist_id: 'c-missing', name: 'x' },
    });
    expect(unknown.status).toBe(422);
    expect(Object.keys(unknown.body.errors)).toEqual(['checklist_id']);
  });

  test('me/tasks lists only the caller’s tasks', async () => {
    const standard = (await passwordGrant(sandbox, sandbox.demo.standard)).access_token;
    const res = await api(sandbox, 'GET', `${org}/me/tasks?per_page=100`, { token: standard });
    expect(res.body.data.length).toBeGreaterThan(0);
    for (const t of res.body.data) expect(t.owners.users).toContain(sandbox.demo.standard.id);
  });

  test('users, groups, guests and tags are listed', async () => {
    for (const [path, min] of [
      ['users', 3],
      ['groups', 2],
      ['guests', 1],
      ['tags', 2],
    ] as const) {
      const res = await api(sandbox, 'GET', `${org}/${path}`, { token });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeGreaterThanOrEqual(min);
    }
  });
});
