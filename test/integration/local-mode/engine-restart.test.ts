/**
 * DynamoDB Local dies while local mode runs (its Java killed): /health answers 503 naming it,
 * webhooks get 503 rather than a 202 nothing could honour, and local mode starts it again on
 * the same endpoint with the same data.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalMode, startLocalMode } from '../../../local/runtime/index.ts';
import { findDynamoDbLocal } from '../../../local/runtime/orphans.ts';
import { memorySink } from '../../../shared/observability/index.ts';
import { tempDataDir } from './support.ts';

const dataDir = tempDataDir('engine-restart');
const logs = memorySink();
let local: LocalMode;

beforeAll(async () => {
  local = await startLocalMode({
    port: 0,
    dataDir,
    schedules: false,
    logSink: logs.sink,
    // long enough to see it down, short enough for a test
    restartDelaysMs: [2_000],
  });
}, 90_000);

afterAll(async () => {
  await local?.stop();
});

interface Health {
  status: string;
  reason?: string;
  engines: { dynamodb: { state: string; pid?: number; restarts: number } };
}

async function health(): Promise<{ status: number; body: Health }> {
  const response = await fetch(local.urls.health);
  return { status: response.status, body: (await response.json()) as Health };
}

function webhook(completedAt: string): Promise<Response> {
  return fetch(local.demo?.webhookUrl.reveal() ?? '', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tallyfy-orgid': local.demo?.orgId ?? '' },
    body: JSON.stringify({ event: 'task.completed', data: { id: `t-${completedAt}` } }),
  });
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('DynamoDB Local dies while local mode runs', () => {
  test('/health and webhooks answer 503 naming it until it is restarted, then all is served again', async () => {
    const before = await health();
    expect(before.status).toBe(200);
    const [java] = await findDynamoDbLocal(join(dataDir, 'dynamodb'));
    expect(java?.pid).toBe(before.body.engines.dynamodb.pid);
    process.kill(java?.pid ?? 0, 'SIGKILL');

    const down = await until('/health to say it is down', async () => {
      const now = await health();
      return now.status === 503 ? now.body : undefined;
    });
    expect(down.status).toBe('unavailable');
    expect(down.reason).toMatch(/^dynamodb is down: it exited \(SIGKILL\); restarting it$/);
    expect(down.engines.dynamodb.state).toBe('restarting');
    const refused = await webhook('while-down');
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'WEBHOOKS_UNAVAILABLE' } });

    const back = await until('/health to say it is back', async () => {
      const now = await health();
      return now.status === 200 ? now.body : undefined;
    });
    expect(back.engines.dynamodb).toMatchObject({ state: 'up', restarts: 1 });
    expect(back.engines.dynamodb.pid).not.toBe(java?.pid);
    expect((await findDynamoDbLocal(join(dataDir, 'dynamodb'))).map((p) => p.pid)).toEqual([
      back.engines.dynamodb.pid,
    ]);
    // the same endpoint, the same data: the demo org authenticates the webhook again
    expect((await webhook('after-restart')).status).toBe(202);
    await local.drainQueue();
    const lines = logs.lines.join('\n');
    expect(lines).toContain('DynamoDB Local is down; webhooks get 503 until it is back');
    expect(lines).toContain('DynamoDB Local is back');
  }, 120_000);
});
