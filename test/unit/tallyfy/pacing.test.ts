import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import {
  closeSharedDispatchers,
  createTallyfyClient,
  sharedOrgPacer,
  staticToken,
  TallyfyApi,
  tallyfyApiPerOrg,
  tokenBucket,
} from '../../../shared/tallyfy/index.ts';
import { fakeTime, json, startServer, type TestServer } from './support.ts';

let server: TestServer | undefined;

afterAll(async () => {
  await closeSharedDispatchers();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Start times of `n` attempts made one after another through `acquire`, on a manual clock. */
async function startTimes(requestsPerMinute: number, n: number): Promise<number[]> {
  const time = fakeTime(0);
  const bucket = tokenBucket({ requestsPerMinute, clock: time.clock, sleep: time.sleep });
  const starts: number[] = [];
  for (let i = 0; i < n; i++) {
    await bucket.acquire();
    starts.push(time.clock());
  }
  return starts;
}

/** The most attempts that started within any 60-second window. */
function busiestMinute(starts: readonly number[]): number {
  let most = 0;
  for (let i = 0; i < starts.length; i++) {
    const from = starts[i] as number;
    most = Math.max(most, starts.filter((t) => t >= from && t < from + 60_000).length);
  }
  return most;
}

describe('per-org token bucket (TALLYFY_REQUESTS_PER_MINUTE)', () => {
  test('a tenth of the budget goes out at once, the rest is spaced: never more than the budget in any minute', async () => {
    const bucket = tokenBucket({ requestsPerMinute: 100 });
    expect(bucket).toMatchObject({ burst: 10, refillPerMinute: 90 });
    const starts = await startTimes(100, 400);
    expect(starts.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(starts[10]).toBe(667);
    expect(busiestMinute(starts)).toBeLessThanOrEqual(100);
    // and it does not hold back more than it must: 400 attempts in about 4.3 minutes
    expect(starts[399]).toBeLessThan(((400 - 10) / 90) * 60_000 + 1000);
    for (const rpm of [2, 7, 10, 60, 1000]) {
      expect(busiestMinute(await startTimes(rpm, rpm * 3)), `rpm ${rpm}`).toBeLessThanOrEqual(rpm);
    }
  });

  test('waiters are served in arrival order, each after the one before', async () => {
    const time = fakeTime(0);
    const waits: number[] = [];
    const bucket = tokenBucket({
      requestsPerMinute: 60,
      clock: time.clock,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const waited = await Promise.all(Array.from({ length: 9 }, () => bucket.acquire()));
    // burst 6, then one per 60 000 / 54 ms ≈ 1111 ms, queued behind each other
    expect(waited).toEqual([0, 0, 0, 0, 0, 0, 1112, 2223, 3334]);
    expect(waits).toEqual([1112, 2223, 3334]);
  });

  test('a budget that is not a whole number of at least 1 is a programming error', () => {
    expect(() => tokenBucket({ requestsPerMinute: 0 })).toThrow(RangeError);
    expect(() => tokenBucket({ requestsPerMinute: 1.5 })).toThrow(RangeError);
  });

  test('one bucket per org in the container, shared by every client of that org', () => {
    expect(sharedOrgPacer('orgA', 100)).toBe(sharedOrgPacer('orgA', 100));
    expect(sharedOrgPacer('orgA', 100)).not.toBe(sharedOrgPacer('orgB', 100));
    const perOrg = tallyfyApiPerOrg({
      auth: () => staticToken(new Secret('t')),
      requestsPerMinute: 100,
    });
    expect(perOrg('orgA')).toBeInstanceOf(TallyfyApi);
  });

  test('the client waits for the org budget before every attempt; the wait does not eat its deadline', async () => {
    server = await startServer((_req, res, i) =>
      i === 0 ? json(res, 503, {}) : json(res, 200, { data: { id: 1 } }),
    );
    const time = fakeTime(0);
    // a budget of 2 per minute: burst 1, then one per minute
    const pacer = tokenBucket({ requestsPerMinute: 2, clock: time.clock, sleep: time.sleep });
    const client = createTallyfyClient({
      auth: staticToken(new Secret('tok-pacing-0123456789')),
      baseUrl: server.url,
      dispatcher: server.dispatcher,
      clock: time.clock,
      sleep: time.sleep,
      random: () => 0.5,
      pacer,
      retry: { deadlineMs: 10_000 },
    });
    await client.get('/me');
    // the 503 was retried (backoff 500 ms) after waiting a minute for the budget: the retry
    // still had its deadline, so it was sent and answered
    expect(server.seen).toHaveLength(2);
    expect(time.sleeps).toEqual([500, 59_500]);
    expect(client.stats).toMatchObject({ attempts: 2, paced: 1, pacedMs: 59_500 });
  });
});
