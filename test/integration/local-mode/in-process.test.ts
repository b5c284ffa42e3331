/**
 * `startLocalMode()` in-process (as the CLI's end-to-end test uses it): the HTTP routes API
 * Gateway and Lambda Invoke stand for, over the real engines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalMode, startLocalMode } from '../../../local/runtime/index.ts';
import { memorySink } from '../../../shared/observability/index.ts';
import { tempDataDir } from './support.ts';

const DEMO_ORG = 'org5f4e3d2c1b0a';
const logs = memorySink();
const dataDir = tempDataDir('in-process');
let local: LocalMode;

beforeAll(async () => {
  local = await startLocalMode({
    env: { LOG_LEVEL: 'INFO' },
    port: 0,
    dataDir,
    schedules: false,
    logSink: logs.sink,
  });
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

/** A raw request, so tests can set `Host` and forwarding headers as a proxy would. */
function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  const url = new URL(path, local.urls.http);
  return new Promise((done, fail) => {
    const req = request(
      url,
      { method: init.method ?? 'GET', headers: init.headers ?? {} },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () =>
          done({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    req.on('error', fail);
    req.end(init.body);
  });
}

const invoke = (name: string, event: unknown, headers: Record<string, string> = {}) =>
  send(`/_local/invoke/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(event),
  });

describe('local mode in-process', () => {
  test('GET /health answers ok with the functions it runs', async () => {
    const response = await send('/health');
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body) as { status: string; functions: string[] };
    expect(body.status).toBe('ok');
    expect(body.functions).toContain('webhook-receiver');
    expect(body.functions).toContain('token-refresher');
  });

  test('POST /_local/invoke/token-refresher runs the refresher and returns its JSON result', async () => {
    const response = await invoke('token-refresher', { orgId: DEMO_ORG, force: true });
    expect(response.status).toBe(200);
    expect(response.headers['x-amz-function-error']).toBeUndefined();
    // the start-up run got a token a moment ago: a forced refresh finds it fresh
    expect(JSON.parse(response.body)).toMatchObject({
      kind: 'on-demand',
      result: { orgId: DEMO_ORG, outcome: 'fresh' },
    });
  });

  test('POST /_local/invoke/reconciler reconciles one org against the sandbox', async () => {
    const response = await invoke('reconciler', { orgId: DEMO_ORG });
    expect(response.status).toBe(200);
    expect(response.headers['x-amz-function-error']).toBeUndefined();
    expect(JSON.parse(response.body)).toMatchObject({ orgs: 1, failedOrgs: [] });
  });

  test('a function that throws answers as Lambda Invoke does: 200 with X-Amz-Function-Error', async () => {
    const response = await invoke('reconciler', { orgId: 'org-nobody-registered' });
    expect(response.status).toBe(200);
    expect(response.headers['x-amz-function-error']).toBe('Unhandled');
    expect(JSON.parse(response.body)).toMatchObject({
      errorType: 'ReconcileOrgNotFoundError',
      errorMessage: expect.stringContaining('org-nobody-registered'),
    });
    const unknown = await invoke('no-such-function', {});
    expect(unknown.status).toBe(404);
  });

  test('the admin route refuses callers that are not loopback ones', async () => {
    const event = { orgId: DEMO_ORG };
    expect((await invoke('token-refresher', event, { host: 'evil.example' })).status).toBe(403);
    expect(
      (await invoke('token-refresher', event, { 'x-forwarded-for': '203.0.113.9' })).status,
    ).toBe(403);
    const plain = await send('/_local/invoke/token-refresher', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(event),
    });
    expect(plain.status).toBe(415);
    const broken = await send('/_local/invoke/token-refresher', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"orgId":',
    });
    expect(broken.status).toBe(400);
  });

  test('the webhook route answers as the receiver behind API Gateway does', async () => {
    const payload = JSON.stringify({ event: 'task.completed', data: { id: 't1' } });
    const wrongSecret = await send(`/hooks/${DEMO_ORG}/${'x'.repeat(43)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    });
    expect(wrongSecret.status).toBe(401);
    expect(JSON.parse(wrongSecret.body)).toMatchObject({
      error: { code: 'WEBHOOKS_UNAUTHORIZED' },
    });

    const accepted = await fetch(local.demo?.webhookUrl.reveal() ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tallyfy-orgid': DEMO_ORG },
      body: payload,
    });
    expect(accepted.status).toBe(202);

    // only the route API Gateway has: other methods and paths are its 404
    expect((await send(`/hooks/${DEMO_ORG}/secret`)).status).toBe(404);
    expect((await send('/anything-else', { method: 'POST' })).status).toBe(404);
  });

  test('the receiver gets the exact bytes: UTF-8 is archived as sent, other bytes answer 400', async () => {
    const hook = new URL(local.demo?.webhookUrl.reveal() ?? '');
    const headers = { 'content-type': 'application/json; charset=utf-8' };
    const archived = () =>
      (readdirSync(join(dataDir, 'archive'), { recursive: true }) as string[]).filter(
        (f) => f.endsWith('.json') && !f.endsWith('.meta.json'),
      );
    const before = archived().length;

    // é as the single Latin-1 byte 0xE9: not UTF-8, and not to be turned into U+FFFD
    const latin1 = Buffer.concat([
      Buffer.from('{"event":"task.completed","data":{"id":"t-latin1","note":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}}'),
    ]);
    const refused = await send(hook.pathname, { method: 'POST', headers, body: latin1 });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'WEBHOOKS_JSON_INVALID', message: 'The body is not valid UTF-8 JSON.' },
    });
    expect(archived()).toHaveLength(before);

    const utf8 = Buffer.from(
      '{"event":"task.completed","data":{"id":"t-utf8","note":"café ☕ 𝄞"}}',
      'utf8',
    );
    const accepted = await send(hook.pathname, { method: 'POST', headers, body: utf8 });
    expect(accepted.status).toBe(202);
    const id = (JSON.parse(accepted.body) as { id: string }).id.replace(/[^A-Za-z0-9._-]/g, '_');
    const file = archived().find((f) => f.endsWith(`-${id}.json`));
    expect(file).toBeDefined();
    expect(readFileSync(join(dataDir, 'archive', file ?? '')).equals(utf8)).toBe(true);
  });

  test('a body over the Lambda payload limit is refused with 413 before any handler runs', async () => {
    const response = await send(`/hooks/${DEMO_ORG}/secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(6 * 1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
  });

  test('no log line holds the demo webhook URL secret', () => {
    const secret = local.demo?.webhookUrl.reveal().split('/').at(-1) ?? '';
    expect(secret).toHaveLength(43);
    expect(logs.lines.length).toBeGreaterThan(3);
    expect(logs.lines.join('\n')).not.toContain(secret);
  });
});
