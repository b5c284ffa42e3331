/**
 * The sandbox's state on disk (local mode's `sandbox.jsonl`): what a restart finds, the order
 * of store and webhook, a fresh start, and a damaged file.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  openSandboxState,
  type StartedSandbox,
  startSandbox,
} from '../../../local/tallyfy-sandbox/index.ts';
import { api, manualClock, passwordGrant, tokenRequest } from './support.ts';

async function stateFile(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'sandbox-state-')), 'sandbox.jsonl');
}

async function start(file: string, clock: () => number, fresh = false) {
  const state = await openSandboxState({ file, clock, fresh });
  const sandbox = await startSandbox({ clock, persistence: state });
  return { sandbox, state };
}

async function launch(sandbox: StartedSandbox, token: string, name: string) {
  const d = sandbox.demo;
  const res = await api(sandbox, 'POST', `/organizations/${d.orgId}/runs`, {
    token,
    body: { checklist_id: d.templates.onboarding.id, name },
  });
  expect(res.status).toBe(201);
  return res.body.data as { id: string };
}

describe('sandbox state on disk', () => {
  test('a restart finds the processes, completions, comments, tokens and webhook URL of before', async () => {
    const file = await stateFile();
    const clock = manualClock();
    const first = await start(file, clock.now);
    expect(first.state.restored()).toBe(false);
    const d = first.sandbox.demo;
    first.sandbox.setWebhookUrl(d.orgId, 'http://127.0.0.1:9/hooks/x/y');
    const grant = await passwordGrant(first.sandbox);
    const run = await launch(first.sandbox, grant.access_token, 'Launched before the restart');
    await first.sandbox.completeTask(d.orgId, d.tasks.approvePo);
    const comment = await api(
      first.sandbox,
      'POST',
      `/organizations/${d.orgId}/tasks/${d.tasks.approvePo}/comment`,
      {
        token: grant.access_token,
        body: { content: 'kept' },
      },
    );
    expect(comment.status).toBe(201);
    // a refresh rotates the pair: the spent refresh token must stay spent after the restart
    const rotated = await tokenRequest(first.sandbox, {
      grant_type: 'refresh_token',
      refresh_token: grant.refresh_token,
      client_id: d.passwordClient.clientId,
      client_secret: d.passwordClient.clientSecret,
    });
    expect(rotated.status).toBe(200);
    await first.sandbox.close();

    const second = await start(file, clock.now);
    try {
      expect(second.state.restored()).toBe(true);
      const s = second.sandbox;
      const token = String(rotated.body.access_token);
      const again = await api(s, 'GET', `/organizations/${d.orgId}/runs/${run.id}`, { token });
      expect(again.status).toBe(200);
      expect(again.body.data.name).toBe('Launched before the restart');
      expect(s.store.tasks.get(d.tasks.approvePo)?.status).toBe('completed');
      expect(s.store.commentsOf(d.tasks.approvePo).map((c) => c.content)).toEqual(['kept']);
      expect(s.store.orgs.get(d.orgId)?.webhookUrl).toBe('http://127.0.0.1:9/hooks/x/y');
      // the access token of before the rotation was revoked, the refresh token spent
      expect((await api(s, 'GET', '/me', { token: grant.access_token })).status).toBe(401);
      const reuse = await tokenRequest(s, {
        grant_type: 'refresh_token',
        refresh_token: grant.refresh_token,
        client_id: d.passwordClient.clientId,
        client_secret: d.passwordClient.clientSecret,
      });
      expect(reuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      // runs keep numbering on from where they were
      const next = await launch(s, token, 'After the restart');
      const runs = s.store.runsOf(d.orgId);
      expect(runs.find((r) => r.id === next.id)?.incrementId).toBe(
        (runs.find((r) => r.id === run.id)?.incrementId ?? 0) + 1,
      );
    } finally {
      await second.sandbox.close();
    }
  });

  test('a launched process is on disk before its process.launched webhook is sent', async () => {
    const file = await stateFile();
    const seenOnDisk: boolean[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
        seenOnDisk.push(readFileSync(file, 'utf8').includes(`"id":"${body.id}"`));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    const { sandbox } = await start(file, Date.now);
    try {
      const d = sandbox.demo;
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/o/s`;
      sandbox.setWebhookUrl(d.orgId, url, { checklistId: d.templates.onboarding.id });
      const token = (await passwordGrant(sandbox)).access_token;
      await Promise.all([1, 2, 3].map((i) => launch(sandbox, token, `Launch ${i}`)));
      await sandbox.flushWebhooks();
      expect(seenOnDisk).toEqual([true, true, true]);
    } finally {
      await sandbox.close();
      receiver.close();
    }
  });

  test('fresh: the sandbox starts from its seed and the saved state is kept aside', async () => {
    const file = await stateFile();
    const clock = manualClock();
    const first = await start(file, clock.now);
    await first.sandbox.completeTask(first.sandbox.demo.orgId, first.sandbox.demo.tasks.approvePo);
    await first.sandbox.close();

    const second = await start(file, clock.now, true);
    try {
      expect(second.state.restored()).toBe(false);
      expect(second.sandbox.store.tasks.get(second.sandbox.demo.tasks.approvePo)?.status).toBe(
        'in-progress',
      );
      const keptAt = second.state.keptAsideAt ?? '';
      expect(keptAt).toMatch(/sandbox\.jsonl\.fresh-\d{8}T\d{6}Z$/);
      expect(readFileSync(keptAt, 'utf8')).toContain('"status":"completed"');
    } finally {
      await second.sandbox.close();
    }
  });

  test('a damaged state file: every whole record restored, the rest reported', async () => {
    const file = await stateFile();
    const clock = manualClock();
    const first = await start(file, clock.now);
    const token = (await passwordGrant(first.sandbox)).access_token;
    const run = await launch(first.sandbox, token, 'Whole');
    await first.sandbox.close();
    appendFileSync(file, '{"run":{"id":"r-cut","name":"Cut sh');

    const second = await start(file, clock.now);
    try {
      expect(second.state.restored()).toBe(true);
      expect(second.sandbox.store.runs.has(run.id)).toBe(true);
      expect(second.state.salvage).toMatchObject({ lost: 1, file });
      expect(existsSync(second.state.salvage?.keptAt ?? '')).toBe(true);
    } finally {
      await second.sandbox.close();
    }
  });
});
