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
      expect(sandbox.stats().rateLimited).toBe(1);
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
