import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { api, manualClock, passwordGrant, shapeOf, startReceiver } from './support.ts';

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../unit/webhooks/fixtures/${name}`, import.meta.url), 'utf8'),
  ) as unknown;

describe('sandbox webhooks', () => {
  let sandbox: StartedSandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const clock = manualClock();

  beforeEach(async () => {
    sandbox = await startSandbox({ clock: clock.now });
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await sandbox.close();
    await receiver.close();
  });

  test('completing a task posts the task-completed payload with X-Tallyfy-orgID', async () => {
    const d = sandbox.demo;
    sandbox.setWebhookUrl(d.orgId, receiver.url, { checklistId: d.templates.purchaseOrder.id });
    const token = (await passwordGrant(sandbox, d.standard)).access_token;
    const res = await api(
      sandbox,
      'POST',
      `/organizations/${d.orgId}/runs/${d.runs.purchaseOrderOpen}/completed-tasks`,
      {
        token,
        body: {
          task_id: d.tasks.approvePo,
          captures: { 'approval-decision': 'Approved', 'approved-amount': '12500' },
        },
      },
    );
    expect(res.status).toBe(200);
    await sandbox.flushWebhooks();

    expect(receiver.received).toHaveLength(1);
    const hook = receiver.received[0];
    if (!hook) throw new Error('no webhook received');
    expect(hook.headers['x-tallyfy-orgid']).toBe(d.orgId);
    expect(hook?.headers['content-type']).toBe('application/json');
    // process_forms holds every captured value, the fixture shows a selection: compare its steps
    const expected = fixture('task-completed.json') as { process: { process_forms: object } };
    expect(Object.keys(hook?.body.process.process_forms)).toEqual(
      Object.keys(expected.process.process_forms),
    );
    hook.body.process.process_forms = {};
    expected.process.process_forms = {};
    expect(shapeOf(hook?.body)).toEqual(shapeOf(expected));
    expect(hook?.body.this_task).toMatchObject({
      id: d.tasks.approvePo,
      status: 'completed',
      completed_at: new Date(clock.now()).toISOString().replace('.000Z', 'Z'),
      completed_by: { id: d.standard.id },
    });
    expect(hook?.body.next_task.id).toBe(d.tasks.issuePo);
    expect(hook?.body.process.progress).toBe(66);
    expect(sandbox.stats().webhooksSent).toBe(1);
  });

  test('the last task sends next_task [] and then process-completed', async () => {
    const d = sandbox.demo;
    sandbox.setWebhookUrl(d.orgId, receiver.url);
    await sandbox.completeTask(d.orgId, d.tasks.approvePo);
    await sandbox.completeTask(d.orgId, d.tasks.issuePo);
    const bodies = receiver.received.map((r) => r.body);
    expect(bodies).toHaveLength(3);
    expect(bodies[1].next_task).toEqual([]);
    expect(Object.keys(bodies[1]).sort()).toEqual(Object.keys(bodies[0]).sort());
    expect(bodies[2].status).toBe('completed');
    expect(Object.keys(bodies[2]).sort()).toEqual(
      Object.keys(fixture('process-completed.json') as object).sort(),
    );
    expect(sandbox.store.runs.get(d.runs.purchaseOrderOpen)?.status).toBe('completed');
  });

  test('launching a process posts the process-launched payload', async () => {
    const d = sandbox.demo;
    sandbox.setWebhookUrl(d.orgId, receiver.url);
    const token = (await passwordGrant(sandbox)).access_token;
    await api(sandbox, 'POST', `/organizations/${d.orgId}/runs`, {
      token,
      body: {
        checklist_id: d.templates.purchaseOrder.id,
        name: 'PO - launched',
        prerun: { vendor: 'Northwind Traders', 'requested-amount': '12500' },
      },
    });
    await sandbox.flushWebhooks();
    expect(receiver.received).toHaveLength(1);
    expect(shapeOf(receiver.received[0]?.body)).toEqual(shapeOf(fixture('process-launched.json')));
  });

  test('an org watcher receives the {event, organization_id, occurred_at, data} envelope', async () => {
    const d = sandbox.demo;
    const token = (await passwordGrant(sandbox)).access_token;
    const added = await api(
      sandbox,
      'POST',
      `/organizations/${d.orgId}/users/${d.admin.id}/add-watcher`,
      {
        token,
        body: {
          object_type: 'organization',
          object_id: d.orgId,
          notification_type: 'webhook',
          frequency: 'electric',
          webhook: receiver.url,
        },
      },
    );
    expect(added.status).toBe(201);
    const listed = await api(
      sandbox,
      'GET',
      `/organizations/${d.orgId}/watchers?notification=webhook`,
      {
        token,
      },
    );
    expect(listed.body.data.map((w: { id: string }) => w.id)).toEqual([added.body.data.id]);

    await sandbox.completeTask(d.orgId, d.tasks.approvePo);
    const [hook] = receiver.received;
    expect(hook?.body.event).toBe('task.completed');
    expect(Object.keys(hook?.body ?? {}).sort()).toEqual([
      'data',
      'event',
      'occurred_at',
      'organization_id',
    ]);
    expect(Object.keys(hook?.body.data).sort()).toEqual(
      Object.keys((fixture('watcher-task-completed.json') as { data: object }).data).sort(),
    );

    const removed = await api(
      sandbox,
      'DELETE',
      `/organizations/${d.orgId}/remove-watcher/${added.body.data.id}`,
      { token },
    );
    expect(removed.status).toBe(204);
    expect(sandbox.store.watchersOf(d.orgId)).toHaveLength(0);
  });

  test('a standard user may not add a watcher (403)', async () => {
    const d = sandbox.demo;
    const token = (await passwordGrant(sandbox, d.standard)).access_token;
    const res = await api(
      sandbox,
      'POST',
      `/organizations/${d.orgId}/users/${d.standard.id}/add-watcher`,
      {
        token,
        body: {
          object_type: 'organization',
          object_id: d.orgId,
          notification_type: 'webhook',
          frequency: 'electric',
          webhook: receiver.url,
        },
      },
    );
    expect(res.status).toBe(403);
  });

  test('with delivery off nothing is sent but the task still completes', async () => {
    const d = sandbox.demo;
    sandbox.setWebhookUrl(d.orgId, receiver.url);
    sandbox.setWebhookDelivery(false);
    await sandbox.completeTask(d.orgId, d.tasks.approvePo);
    await sandbox.flushWebhooks();
    expect(receiver.received).toHaveLength(0);
    expect(sandbox.store.tasks.get(d.tasks.approvePo)?.status).toBe('completed');
    expect(sandbox.stats().webhooksSuppressed).toBe(1);
  });

  test('a failing receiver is tried once and counted as failed', async () => {
    const failing = await startReceiver(500);
    try {
      sandbox.setWebhookUrl(sandbox.demo.orgId, failing.url);
      await sandbox.completeTask(sandbox.demo.orgId, sandbox.demo.tasks.approvePo);
      expect(failing.received).toHaveLength(1);
      expect(sandbox.stats()).toMatchObject({ webhooksSent: 0, webhooksFailed: 1 });
      expect(sandbox.webhookDeliveries()[0]).toMatchObject({ ok: false, status: 500 });
    } finally {
      await failing.close();
    }
  });

  test('an org with the human date format sends d/m/Y h:i A T dates', async () => {
    sandbox.addOrg({ id: 'org-human', name: 'Human dates', dateFormat: 'human' });
    sandbox.addUser({
      id: 'uh1',
      orgId: 'org-human',
      email: 'h1@example.com',
      password: 'pw-h1',
      role: 'admin',
    });
    sandbox.setWebhookUrl('org-human', receiver.url);
    const token = sandbox.issuePersonalAccessToken('uh1');
    // a template is needed in the new org: launch one from the API after seeding a template
    const template = sandbox.store.templates.get(sandbox.demo.templates.onboarding.id);
    expect(template).toBeDefined();
    sandbox.store.putTemplate({
      ...(template as NonNullable<typeof template>),
      id: 'c-human',
      orgId: 'org-human',
      steps: template?.steps.map((s) => ({ ...s, assigneeIds: ['uh1'] })) ?? [],
    });
    const launched = await api(sandbox, 'POST', '/organizations/org-human/runs', {
      token,
      body: { checklist_id: 'c-human', name: 'Human run' },
    });
    expect(launched.status).toBe(201);
    expect(launched.body.data.created_at).toBe(new Date(clock.now()).toISOString());
    await sandbox.flushWebhooks();
    expect(receiver.received[0]?.body.created_at).toMatch(
      /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2} (AM|PM) UTC$/,
    );
  });
});
