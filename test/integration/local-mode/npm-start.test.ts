/**
 * `npm start` as a new user meets it: a child process with a fresh DATA_DIR and PORT=0 (so
 * parallel test files never collide), driven only through what it prints, its HTTP routes,
 * local.json and the local engines' AWS endpoints.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, test } from 'vitest';
import { createOrgRegistry, createOrgsDynamoClients } from '../../../shared/orgs/index.ts';
import { createTokenStore } from '../../../shared/tokens/index.ts';
import {
  bannerValue,
  eventually,
  LOCAL_CREDENTIALS,
  type NpmStart,
  npmStart,
  readState,
  tempDataDir,
  untilReady,
} from './support.ts';

const DEMO_ORG = 'org5f4e3d2c1b0a';
const running: NpmStart[] = [];

function start(env: Record<string, string>): NpmStart {
  const run = npmStart(env);
  running.push(run);
  return run;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((run) => run.stop('SIGKILL')));
});

/** The JSON log lines of a run (stdout and stderr), without the banner. */
function logLines(run: NpmStart): Record<string, unknown>[] {
  return `${run.stdout()}\n${run.stderr()}`
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

interface SandboxDemo {
  orgId: string;
  admin: { email: string; password: string };
  passwordClient: { clientId: string; clientSecret: string };
  templates: { onboarding: { id: string } };
}

/** A token for the sandbox's demo admin, as any Tallyfy API user gets one. */
async function sandboxSession(sandboxOrigin: string, tokenUrl: string) {
  const demo = (await (await fetch(`${sandboxOrigin}/_sandbox/demo`)).json()) as SandboxDemo;
  // the token endpoint is on an origin of its own, as in production: local.json names it
  expect(new URL(tokenUrl).origin).not.toBe(sandboxOrigin);
  const grant = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: demo.passwordClient.clientId,
      client_secret: demo.passwordClient.clientSecret,
      username: demo.admin.email,
      password: demo.admin.password,
    }),
  });
  const { access_token: token } = (await grant.json()) as { access_token: string };
  const get = async (path: string) => {
    const response = await fetch(`${sandboxOrigin}/api${path}`, {
      headers: { authorization: `Bearer ${token}`, 'x-tallyfy-client': 'APIClient' },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { data: Array<Record<string, unknown>> };
  };
  return { demo, get };
}

describe('npm start', () => {
  test('first start registers the demo org, and the printed command runs webhook → worker → process launched → event on the bus', async () => {
    const dataDir = tempDataDir('demo');
    const run = start({ PORT: '0', DATA_DIR: dataDir });
    await untilReady(run);
    const state = readState(dataDir);
    expect(state.running).toBe(true);
    expect(state.demo?.orgId).toBe(DEMO_ORG);

    const health = await fetch(state.urls.health);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', sandbox: true });

    const webhookUrl = bannerValue(run.stdout(), 'webhook URL');
    expect(webhookUrl.startsWith(`${state.outputs.WebhookBaseUrl}/${DEMO_ORG}/`)).toBe(true);
    const urlSecret = webhookUrl.split('/').at(-1) ?? '';
    expect(urlSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // the one-line command the banner prints, run as the user would
    const command = bannerValue(run.stdout(), 'curl -X POST');
    expect(command).toMatch(
      new RegExp(`^${state.urls.sandbox}/_sandbox/orgs/${DEMO_ORG}/tasks/\\w+/complete$`),
    );
    const completed = await fetch(command, { method: 'POST' });
    expect(completed.status).toBe(200);

    // the automation's effect in the sandbox: a follow-up process and a comment on the task
    const sandbox = await sandboxSession(state.urls.sandbox ?? '', state.urls.tallyfyToken ?? '');
    const followUp = await eventually(async () => {
      const runs = await sandbox.get(`/organizations/${DEMO_ORG}/runs?per_page=100`);
      return runs.data.find((r) => String(r.name).startsWith('Follow-up: '));
    }, 'the follow-up process');
    expect(followUp.checklist_id).toBe(sandbox.demo.templates.onboarding.id);
    const stats = (await (await fetch(`${state.urls.sandbox}/_sandbox/stats`)).json()) as {
      requests: Record<string, number>;
    };
    expect(stats.requests['POST /organizations/:org/runs']).toBe(1);
    await eventually(async () => {
      const now = (await (await fetch(`${state.urls.sandbox}/_sandbox/stats`)).json()) as {
        requests: Record<string, number>;
      };
      return now.requests['POST /organizations/:org/tasks/:task/comment'] === 1 ? true : undefined;
    }, 'the comment on the approved task');

    // the normalized event on the local bus (events.jsonl holds what PutEvents accepted)
    const busEvent = await eventually(async () => {
      const file = join(dataDir, 'events.jsonl');
      // the bus creates its file with the first event
      if (!existsSync(file)) return undefined;
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { 'detail-type': string; detail: { orgId: string } })
        .find((e) => e['detail-type'] === 'Task Completed' && e.detail.orgId === DEMO_ORG);
    }, 'the Task Completed event on the bus');
    expect(busEvent).toBeDefined();
    // the child logs it right after the bus stored it; its stdout may arrive a moment later
    await eventually(
      async () => (logLines(run).some((l) => l.message === 'event on the bus') ? true : undefined),
      'the "event on the bus" log line',
    );

    // printed for the user in the banner, never written to a log line
    expect(logLines(run).length).toBeGreaterThan(3);
    expect(JSON.stringify(logLines(run))).not.toContain(urlSecret);

    expect(await run.stop('SIGINT')).toBe(0);
    expect(readState(dataDir).running).toBe(false);
  }, 90_000);

  test('a restart keeps orgs, tokens, rules and queued events; Ctrl-C drains and stops cleanly', async () => {
    const dataDir = tempDataDir('restart');
    const first = start({ PORT: '0', DATA_DIR: dataDir });
    await untilReady(first);
    expect(first.stdout()).toContain('(registered now)');
    const before = readState(dataDir);
    const firstSecret = bannerValue(first.stdout(), 'webhook URL').split('/').at(-1);

    // an event not due for 15 minutes, and a dead letter: both must outlive the restart
    const sqs = new SQSClient({
      endpoint: before.endpoints.sqs ?? '',
      region: before.region,
      credentials: LOCAL_CREDENTIALS,
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: before.outputs.EventsQueueUrl ?? '',
        MessageBody: JSON.stringify({ queued: 'before restart' }),
        DelaySeconds: 900,
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: before.outputs.DeadLetterQueueUrl ?? '',
        MessageBody: JSON.stringify({ deadLetter: 'before restart' }),
      }),
    );
    sqs.destroy();

    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.stdout()).toContain('SIGINT: finishing work in flight');
    const infoLines = first
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(JSON.parse(infoLines.at(-1) ?? '{}').message).toBe('stopped');
    expect(readState(dataDir)).toMatchObject({ running: false });

    const second = start({ PORT: '0', DATA_DIR: dataDir });
    await untilReady(second);
    expect(second.stdout()).not.toContain('(registered now)');
    const after = readState(dataDir);
    expect(after.running).toBe(true);
    expect(after.demo).toEqual(before.demo);
    // the same URL secret (the org stores only its hash, so a new one would be refused)
    expect(bannerValue(second.stdout(), 'webhook URL').split('/').at(-1)).toBe(firstSecret);

    const dynamo = createOrgsDynamoClients({
      endpoint: after.endpoints.dynamodb,
      region: after.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const registry = createOrgRegistry({
      client: dynamo.document,
      tableName: after.outputs.OrgsTableName,
      clock: Date.now,
    });
    const secretsClient = new SecretsManagerClient({
      endpoint: after.endpoints.secretsManager,
      region: after.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const sqsAfter = new SQSClient({
      endpoint: after.endpoints.sqs ?? '',
      region: after.region,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      expect(await registry.getOrg(DEMO_ORG)).toMatchObject({ status: 'active' });
      expect((await registry.listRules(DEMO_ORG)).map((r) => r.ruleId)).toEqual([
        'demo-po-approved',
      ]);
      const tokens = createTokenStore({
        client: secretsClient,
        prefix: after.outputs.SecretPrefix,
      });
      const token = await tokens.readToken(DEMO_ORG);
      expect(Date.parse(token?.expiresAt ?? '')).toBeGreaterThan(Date.now());

      const attributes = async (queueUrl: string, names: QueueAttributeName[]) =>
        (
          await sqsAfter.send(
            new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }),
          )
        ).Attributes ?? {};
      expect(
        await attributes(after.outputs.EventsQueueUrl ?? '', [
          'ApproximateNumberOfMessagesDelayed',
        ]),
      ).toEqual({ ApproximateNumberOfMessagesDelayed: '1' });
      expect(
        await attributes(after.outputs.DeadLetterQueueUrl ?? '', ['ApproximateNumberOfMessages']),
      ).toEqual({ ApproximateNumberOfMessages: '1' });
    } finally {
      dynamo.document.destroy();
      dynamo.client.destroy();
      secretsClient.destroy();
      sqsAfter.destroy();
    }
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
