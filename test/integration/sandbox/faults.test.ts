import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { api, manualClock, passwordGrant } from './support.ts';

describe('sandbox faults, rate limits and latency', () => {
  const clock = manualClock();
  let sandbox: StartedSandbox;
  let token: string;
  let runs: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ clock: clock.now });
    token = (await passwordGrant(sandbox)).access_token;
    runs = `/organizations/${sandbox.demo.orgId}/runs`;
  });
  afterAll(async () => {
    await sandbox.close();
  });

  test('a 429 fault answers Retry-After for the given number of times, then recovers', async () => {
    sandbox.injectFault({ path: runs, status: 429, retryAfterSeconds: 7, times: 2 });
    const first = await api(sandbox, 'GET', runs, { token });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await api(sandbox, 'GET', runs, { token })).status).toBe(429);
    expect((await api(sandbox, 'GET', runs, { token })).status).toBe(200);
  });

  test('a rate limit with a 90 s window answers Retry-After: 90 (beyond a client’s 30 s cap)', async () => {
    sandbox.setRateLimit({ limit: 1, windowMs: 90_000 });
    try {
      expect((await api(sandbox, 'GET', runs, { token })).status).toBe(200);
      const limited = await api(sandbox, 'GET', runs, { token });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('90');
      clock.advance(30_000);
      expect((await api(sandbox, 'GET', runs, { token })).headers.get('retry-after')).toBe('60');
      clock.advance(60_000);
      expect((await api(sandbox, 'GET', runs, { token })).status).toBe(200);
    } finally {
      sandbox.setRateLimit(false);
    }
  });

  test('an hourly comment cap answers 429 RATE_LIMIT_EXCEEDED until the org’s hour is over', async () => {
    const { orgId, tasks } = sandbox.demo;
    const comment = `/organizations/${orgId}/tasks/${tasks.approvePo}/comment`;
    sandbox.setActionCaps({ commentsPerHour: 2 });
    try {
      for (const n of [1, 2]) {
        expect(
          (await api(sandbox, 'POST', comment, { token, body: { content: `c${n}` } })).status,
        ).toBe(201);
      }
      const capped = await api(sandbox, 'POST', comment, { token, body: { content: 'c3' } });
      expect(capped.status).toBe(429);
      expect(capped.body).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED' });
      expect(capped.headers.get('retry-after')).toBe('3600');
      // other calls are not capped, and the cap may come without Retry-After
      expect((await api(sandbox, 'GET', runs, { token })).status).toBe(200);
      sandbox.setActionCaps({ commentsPerHour: 2, omitRetryAfter: true });
      const bare = await api(sandbox, 'POST', comment, { token, body: { content: 'c4' } });
      expect(bare.status).toBe(429);
      expect(bare.headers.get('retry-after')).toBeNull();
      clock.advance(3_600_000);
      // an hour on, the access token has expired too: the next tests use a fresh one
      token = (await passwordGrant(sandbox)).access_token;
      expect((await api(sandbox, 'POST', comment, { token, body: { content: 'c5' } })).status).toBe(
        201,
      );
      expect(sandbox.store.commentsOf(tasks.approvePo).map((c) => c.content)).toEqual(
        expect.arrayContaining(['c1', 'c2', 'c5']),
      );
    } finally {
      sandbox.setActionCaps(false);
    }
  });

  test('a reset fault destroys the socket', async () => {
    const remove = sandbox.injectFault({ path: /\/runs$/, kind: 'reset' });
    await expect(api(sandbox, 'GET', runs, { token })).rejects.toThrow();
    remove();
    expect((await api(sandbox, 'GET', runs, { token })).status).toBe(200);
  });

  test('a hang fault never answers (the caller times out)', async () => {
    sandbox.injectFault({ path: runs, kind: 'hang', times: 1 });
    const res = fetch(`${sandbox.url}${runs}`, {
      headers: { 'x-tallyfy-client': 'APIClient', authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(200),
    });
    await expect(res).rejects.toThrow();
  });

  test('a fault with a probability and seed hits the same requests each time', async () => {
    const pattern = async () => {
      sandbox.clearFaults();
      sandbox.injectFault({ path: runs, status: 503, probability: 0.5, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++)
        statuses.push((await api(sandbox, 'GET', runs, { token })).status);
      sandbox.clearFaults();
      return statuses;
    };
    const a = await pattern();
    expect(a).toContain(503);
    expect(a).toContain(200);
    expect(await pattern()).toEqual(a);
  });

  test('the rate limit answers 429 with Retry-After once the window is spent, per org and token', async () => {
    sandbox.setRateLimit({ limit: 2, windowMs: 60_000 });
    const limitedBefore = sandbox.stats().rateLimited;
    try {
      const ok = await api(sandbox, 'GET', runs, { token });
      expect(ok.headers.get('x-ratelimit-remaining')).toBe('1');
      await api(sandbox, 'GET', runs, { token });
      const limited = await api(sandbox, 'GET', runs, { token });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('60');
      const other = (await passwordGrant(sandbox)).access_token;
      expect((await api(sandbox, 'GET', runs, { token: other })).status).toBe(200);
      clock.advance(60_000);
      expect((await api(sandbox, 'GET', runs, { token })).status).toBe(200);
      expect(sandbox.stats().rateLimited - limitedBefore).toBe(1);
    } finally {
      sandbox.setRateLimit(false);
    }
  });

  test('latency delays each answer', async () => {
    sandbox.setLatency(60);
    try {
      const started = performance.now();
      await api(sandbox, 'GET', runs, { token });
      expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    } finally {
      sandbox.setLatency(0);
    }
  });
});
