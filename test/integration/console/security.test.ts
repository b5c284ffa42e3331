/**
 * The console's doors, over real HTTP against local mode (in this process, with the sandbox's
 * demo org): a foreign `Host`, a forwarding header, a missing or wrong start token, or a POST
 * without a valid CSRF token is refused and changes nothing; and no page, file or header the
 * console serves ever carries a secret (the sandbox's credentials, the stored tokens, the
 * webhook URL secret, a rule's signing secret), nor does its log carry the start token.
 */
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openLocalTarget, type Target } from '../../../bin/target/index.ts';
import { type LocalMode, startLocalMode } from '../../../local/runtime/index.ts';
import { createSqsDeadLetterSink } from '../../../shared/automations/index.ts';
import { createEnvelope, serializeEnvelope } from '../../../shared/events/index.ts';

interface DemoIds {
  admin: { password: string };
  standard: { password: string };
  buyer: { password: string };
  passwordClient: { clientSecret: string };
  appClient: { clientSecret: string };
  templates: { purchaseOrder: { id: string } };
  tasks: { issuePo: string };
}

const SIGNING_SECRET = 'rule-signing-secret-0123456789abcdef';
let local: LocalMode;
let target: Target;
let demo: DemoIds;
let orgId: string;
let port: number;
let base: string;
const logLines: string[] = [];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request over a real socket, with the headers a browser or an attacker would send. */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', fail);
    req.end(options.body);
  });
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    origin: `http://127.0.0.1:${port}`,
  },
  body: new URLSearchParams(fields).toString(),
});

async function csrfToken(): Promise<string> {
  const page = await send(`${base}orgs`);
  const token = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (token === undefined) throw new Error('no CSRF field on the orgs page');
  return token;
}

async function orgState() {
  const org = await target.registry().getOrg(orgId);
  return { version: org?.version, lastRefreshAt: org?.lastRefreshAt };
}

async function lettersLeft(): Promise<number> {
  const page = await send(`${base}dead-letters?fresh=1`);
  return Number(/data-dlq-total="(\d+)"/.exec(page.body)?.[1]);
}

beforeAll(async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'tallyfy-console-security-')), 'data');
  local = await startLocalMode({
    port: 0,
    dataDir,
    schedules: false,
    logSink: (line) => logLines.push(line),
  });
  orgId = local.demo?.orgId as string;
  port = Number(new URL(local.urls.http).port);
  base = new URL(local.urls.console).pathname;
  target = await openLocalTarget(join(dataDir, 'local.json'), {});
  demo = (await (await fetch(`${local.urls.sandbox}/_sandbox/demo`)).json()) as DemoIds;
  // a rule keeping a signing secret, and one that fails: a dead letter to look at and replay
  await target.registry().putRule(orgId, {
    ruleId: 'notify-signed',
    enabled: false,
    body: {
      when: { event: 'process.completed' },
      // biome-ignore lint/suspicious/noThenProperty: `then` is the rules format's action list
      then: [
        { type: 'http_post', url: 'http://127.0.0.1:9/hook', secret: { value: SIGNING_SECRET } },
      ],
    } as never,
  });
  await target.registry().putRule(orgId, {
    ruleId: 'po-issued',
    body: {
      when: { event: 'task.completed', step: { alias: 'issue-po' } },
      // biome-ignore lint/suspicious/noThenProperty: `then` is the rules format's action list
      then: [{ type: 'launch_process', template: 'tpl0000000missing', name: 'x' }],
    } as never,
  });
  const done = await fetch(
    `${local.urls.sandbox}/_sandbox/orgs/${orgId}/tasks/${demo.tasks.issuePo}/complete`,
    { method: 'POST' },
  );
  expect(done.status).toBe(200);
  await local.drainQueue();
}, 120_000);

afterAll(async () => {
  target?.close();
  await local?.stop();
});

describe('who may use the console', () => {
  test('a foreign Host (DNS rebinding) or a forwarding header is refused, GET and POST, and nothing changes', async () => {
    const before = await orgState();
    const csrf = await csrfToken();
    const foreign: Record<string, string>[] = [
      { host: `evil.example:${port}` },
      { host: `127.0.0.1:${port + 1}` },
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9' },
    ];
    for (const headers of foreign) {
      const page = await send(`${base}orgs`, { headers });
      expect(page.status, JSON.stringify(headers)).toBe(403);
      expect(page.body).not.toContain(orgId);
      const post = await send(`${base}orgs/${orgId}/refresh`, {
        ...form({ csrf }),
        headers: { ...form({ csrf }).headers, ...headers },
      });
      expect(post.status).toBe(403);
    }
    expect(await orgState()).toEqual(before);
  });

  test('without the start token, or with another, nothing is served and nothing changes', async () => {
    const before = await orgState();
    const csrf = await csrfToken();
    const wrong = `/console/${'A'.repeat(43)}/`;
    for (const path of [
      '/console',
      '/console/',
      '/console/orgs',
      `${wrong}orgs`,
      `${wrong}assets/console.css`,
    ]) {
      const page = await send(path);
      expect(page.status, path).toBe(403);
      expect(page.body).toMatch(/not valid/);
      expect(page.body).not.toContain(base.split('/')[2] as string);
    }
    expect((await send(`${wrong}orgs/${orgId}/refresh`, form({ csrf }))).status).toBe(403);
    expect((await send(`${wrong}dead-letters/replay`, form({ csrf, expected: '1' }))).status).toBe(
      403,
    );
    expect(await orgState()).toEqual(before);
    expect(await lettersLeft()).toBe(1);
  });

  test('a POST without a valid CSRF token, or from another site, is refused and changes nothing; with it, it acts', async () => {
    const csrf = await csrfToken();
    const before = await orgState();
    const attempts = [
      form({}),
      form({ csrf: 'x'.repeat(43) }),
      form({ csrf: base.split('/')[2] as string }),
      { ...form({ csrf }), headers: { ...form({ csrf }).headers, origin: 'http://evil.example' } },
      { ...form({ csrf }), headers: { ...form({ csrf }).headers, origin: 'null' } },
      { ...form({ csrf }), headers: { ...form({ csrf }).headers, 'sec-fetch-site': 'cross-site' } },
    ];
    for (const attempt of attempts) {
      expect((await send(`${base}orgs/${orgId}/refresh`, attempt)).status).toBe(403);
      const replay = await send(`${base}dead-letters/replay`, {
        ...attempt,
        body: `${attempt.body}&expected=1`,
      });
      expect(replay.status).toBe(403);
      expect((await send(`${base}reports/${orgId}/run`, attempt)).status).toBe(403);
    }
    // a GET cannot act either
    expect((await send(`${base}orgs/${orgId}/refresh`)).status).toBe(405);
    expect(await orgState()).toEqual(before);
    expect(await lettersLeft()).toBe(1);
    expect((await target.registry().listReplays()).replays).toEqual([]);
    expect((await send(`${base}activity`)).body).toContain('No action yet');

    // the same POST with the form token acts: the refusals above were the checks, not a bug
    const replay = await send(`${base}dead-letters/replay`, form({ csrf, expected: '1' }));
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toMatch(new RegExp(`^${base}replays/[0-9a-f-]{36}$`));
    const records = (await target.registry().listReplays()).replays;
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ via: 'console', requested: 1 });
  });
});

/** Every string in a secret's JSON whose key names a secret (tokens, passwords, client secrets). */
function secretValues(json: unknown, into: Set<string>): void {
  if (Array.isArray(json)) {
    for (const item of json) secretValues(item, into);
  } else if (typeof json === 'object' && json !== null) {
    for (const [key, value] of Object.entries(json)) {
      if (
        typeof value === 'string' &&
        /token|secret|password/i.test(key) &&
        key !== 'tokenType' &&
        value.length >= 8
      ) {
        into.add(value);
      } else secretValues(value, into);
    }
  }
}

describe('no secret in any page', () => {
  test("every page, file and header the console serves is free of the sandbox's secrets, the stored tokens and the webhook URL secret", async () => {
    // what must never show: the sandbox's credentials, what Secrets Manager holds for the
    // org (access token, refresh token, client secret, password), the webhook URL secret
    const secrets = new Set<string>([
      demo.admin.password,
      demo.standard.password,
      demo.buyer.password,
      demo.passwordClient.clientSecret,
      demo.appClient.clientSecret,
      SIGNING_SECRET,
      (local.demo?.webhookUrl.reveal() ?? '').split('/').at(-1) as string,
    ]);
    const state = JSON.parse(
      await (await import('node:fs/promises')).readFile(join(local.dataDir, 'local.json'), 'utf8'),
    ) as { endpoints: { secretsManager: string }; outputs: { SecretPrefix: string } };
    const sm = new SecretsManagerClient({
      endpoint: state.endpoints.secretsManager,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    for (const kind of ['token', 'credentials']) {
      const out = await sm.send(
        new GetSecretValueCommand({
          SecretId: `${state.outputs.SecretPrefix}/orgs/${orgId}/${kind}`,
        }),
      );
      secretValues(JSON.parse(out.SecretString ?? '{}'), secrets);
    }
    sm.destroy();
    expect(secrets.size).toBeGreaterThanOrEqual(9);

    // the replay of the test before ran into the same failing rule: its letter is back
    await local.drainQueue();
    // a report, so the report pages and files have content
    const csrf = await csrfToken();
    expect((await send(`${base}reports/${orgId}/run`, form({ csrf }))).status).toBe(303);

    const letters = await send(`${base}dead-letters?fresh=1`);
    const letterId = /data-letter="([^"]+)"/.exec(letters.body)?.[1];
    const rules = await send(`${base}rules?org=${orgId}`);
    const archived = /<option value="(webhooks\/[^"]+)"/.exec(rules.body)?.[1];
    const report = await send(`${base}reports/${orgId}`);
    const files = [...report.body.matchAll(/href="([^"]+\/files\/reports\/[^"]+)"/g)].map(
      (m) => m[1] as string,
    );
    expect(letterId).toBeDefined();
    expect(archived).toBeDefined();
    expect(files.length).toBeGreaterThanOrEqual(10);

    const gets = [
      'orgs',
      'orgs?state=healthy',
      `orgs?q=${orgId}`,
      'events',
      `events?org=${orgId}&type=task.completed`,
      'dead-letters',
      `dead-letters/letter/${letterId}`,
      `dead-letters/replay?id=${letterId}`,
      `dead-letters/replay?org=${orgId}`,
      'rules',
      `rules?org=${orgId}`,
      `rules/${orgId}/test?event=${encodeURIComponent(archived as string)}`,
      `rules/${orgId}/test?event=${encodeURIComponent(archived as string)}&rule=notify-signed`,
      'reports',
      `reports/${orgId}`,
      'activity',
      'assets/console.css',
      'no-such-page',
      'orgs?page=zero',
    ].map((path) => `${base}${path}`);
    const answers: [string, Answer][] = [];
    for (const path of [...gets, ...files]) answers.push([path, await send(path)]);
    answers.push([
      'POST dry run',
      await send(
        `${base}rules/${orgId}/test`,
        form({ csrf, payload: '{"event":"task.completed"}' }),
      ),
    ]);
    // a replay, and its page while it runs and once it is done
    const replay = await send(
      `${base}dead-letters/replay`,
      form({ csrf, id: letterId as string, expected: '1' }),
    );
    expect(replay.status).toBe(303);
    const replayPage = replay.headers.location as string;
    answers.push([replayPage, await send(replayPage)]);
    await local.drainQueue();
    answers.push([replayPage, await send(replayPage)]);
    answers.push([`${base}activity`, await send(`${base}activity`)]);
    for (const [path, answer] of answers) {
      expect(answer.status, path).toBeLessThan(500);
      const everything = `${JSON.stringify(answer.headers)}\n${answer.body}`;
      for (const secret of secrets) {
        expect(everything.includes(secret), `${path} shows a secret`).toBe(false);
      }
    }
    // the pages did show what they are for (not empty answers)
    const byPath = new Map(answers);
    expect(byPath.get(`${base}rules?org=${orgId}`)?.body).toContain('[redacted]');
    expect(byPath.get(`${base}orgs`)?.body).toContain(orgId);

    // the log has every action and request, never the start token nor a secret
    const token = base.split('/')[2] as string;
    const log = logLines.join('\n');
    expect(log).toMatch(/console action/);
    expect(log.includes(token)).toBe(false);
    for (const secret of secrets)
      expect(log.includes(secret), 'the log shows a secret').toBe(false);
  });
});

describe('actions in doubt', () => {
  test("an ACTION_IN_DOUBT letter shows its markers; its replay asks what happened and records the operator's choice", async () => {
    // the failing rule's letter (not in doubt) is not asked about actions in doubt
    const plain = await send(`${base}dead-letters/replay?org=${orgId}`);
    expect(plain.body).toMatch(/data-confirm-count="[1-9]/);
    expect(plain.body).not.toContain('data-in-doubt-choice');

    const envelope = createEnvelope({
      orgId,
      type: 'task.completed',
      subjectId: 'task-in-doubt',
      occurredAt: '2026-11-30T09:00:00Z',
      receivedAtMs: Date.now(),
      origin: 'webhook',
      data: { event: 'task.completed', task: { id: 'task-in-doubt' } },
    });
    const marker = 'tsf-00112233445566778899aabb';
    await createSqsDeadLetterSink({
      client: target.sqs(),
      queueUrl: target.deadLetterQueueUrl(),
    }).send(serializeEnvelope(envelope), {
      orgId,
      type: 'task.completed',
      eventId: envelope.id,
      sourceMessageId: 'm-in-doubt',
      receiveCount: '5',
      failedAt: new Date().toISOString(),
      failureCode: 'ACTION_IN_DOUBT',
      failureReason: 'rule notify action 0 (comment_on_task) in doubt: looking for it failed',
      actionsInDoubt: JSON.stringify([
        { ruleId: 'notify', actionIndex: 0, type: 'comment_on_task', marker },
      ]),
    });
    const listing = await send(`${base}dead-letters?fresh=1&code=ACTION_IN_DOUBT`);
    const letterId = /dead-letters\/letter\/([^"?]+)/.exec(listing.body)?.[1];
    expect(letterId).toBeDefined();

    const letter = await send(`${base}dead-letters/letter/${letterId}`);
    expect(letter.body).toContain(marker);
    expect(letter.body).toMatch(/rule <code>notify<\/code> action 0 \(comment_on_task\)/);

    const confirm = await send(`${base}dead-letters/replay?id=${letterId}`);
    expect(confirm.body).toContain('data-in-doubt-choice');
    expect(confirm.body).toMatch(/name="resolution" value="resend" checked/);

    const csrf = await csrfToken();
    const bad = await send(
      `${base}dead-letters/replay`,
      form({ csrf, id: letterId as string, expected: '1', resolution: 'maybe' }),
    );
    expect(bad.status).toBe(400);
    const replay = await send(
      `${base}dead-letters/replay`,
      form({ csrf, id: letterId as string, expected: '1', resolution: 'mark_done' }),
    );
    expect(replay.status).toBe(303);
    const replayId = (replay.headers.location as string).split('/').at(-1);
    await local.drainQueue();
    const record = (await target.registry().listReplays()).replays.find(
      (r) => r.replayId === replayId,
    );
    expect(record).toMatchObject({ via: 'console', resolution: 'mark_done', replayed: 1 });
    expect((await send(replay.headers.location as string)).body).toContain(
      'recorded done, nothing sent',
    );
  });
});
