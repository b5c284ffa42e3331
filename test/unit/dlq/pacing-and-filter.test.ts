import { describe, expect, test } from 'vitest';
import {
  createReplayPacer,
  type DeadLetter,
  DeadLetterFilterSchema,
  describeFilter,
  describeReplayRequest,
  estimateReplayMs,
  matchesDeadLetter,
} from '../../../shared/dlq/index.ts';

/** Virtual time: a sleeper wakes at its own deadline; concurrent sleepers do not add up. */
function virtualTime(startMs = 0) {
  let now = startMs;
  const slept: number[] = [];
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now = Math.max(now, now + ms);
    },
    slept,
    set: (ms: number) => {
      now = ms;
    },
  };
}

describe('replay pacer', () => {
  test('spaces one org evenly at 60000 / rate ms (rounded up): 100 a minute means one every 600 ms', async () => {
    const time = virtualTime();
    const pacer = createReplayPacer({ requestsPerMinute: 100, ...time });
    const sentAt: number[] = [];
    for (let i = 0; i < 5; i++) {
      await pacer.wait('org1');
      sentAt.push(time.clock());
    }
    expect(sentAt).toEqual([0, 600, 1200, 1800, 2400]);
    expect(pacer.intervalMs).toBe(600);
  });

  test('never more than the rate in any minute, however fast the caller asks', async () => {
    const time = virtualTime();
    const pacer = createReplayPacer({ requestsPerMinute: 7, ...time });
    const sentAt: number[] = [];
    for (let i = 0; i < 40; i++) {
      await pacer.wait('org1');
      sentAt.push(time.clock());
    }
    for (const start of sentAt) {
      expect(sentAt.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(7);
    }
  });

  test('orgs do not wait for each other', async () => {
    const time = virtualTime();
    const pacer = createReplayPacer({ requestsPerMinute: 60, ...time });
    await pacer.wait('a');
    await pacer.wait('b');
    await pacer.wait('c');
    expect(time.slept).toEqual([]);
    await pacer.wait('a');
    expect(time.slept).toEqual([1000]);
  });

  test('after a pause the next event goes at once (no catch-up burst either)', async () => {
    const time = virtualTime();
    const pacer = createReplayPacer({ requestsPerMinute: 60, ...time });
    await pacer.wait('a');
    time.set(10_000);
    await pacer.wait('a');
    await pacer.wait('a');
    expect(time.slept).toEqual([1000]);
  });

  test('a rate outside 1..10000 is refused with the reason', () => {
    expect(() => createReplayPacer({ requestsPerMinute: 0 })).toThrow(/1 to 10000/);
    expect(() => createReplayPacer({ requestsPerMinute: 1.5 })).toThrow(/whole number/);
  });

  test('the estimate is the busiest org at its spacing', () => {
    expect(estimateReplayMs([3, 10, 1], 600)).toBe(5400);
    expect(estimateReplayMs([], 600)).toBe(0);
  });
});

const letter = (overrides: Partial<DeadLetter>): DeadLetter => ({
  messageId: 'm1',
  kind: 'worker',
  code: 'ACTION_NOT_FOUND',
  reason: 'Template t1 does not exist (404).',
  receiveCount: 1,
  replayable: true,
  orgId: 'org1',
  type: 'task.completed',
  failedAt: '2026-11-20T10:00:00.000Z',
  sentAt: '2026-11-20T10:00:01.000Z',
  ...overrides,
});

describe('dead-letter filter', () => {
  test('fields combine with AND; the time range is [since, until) on failedAt, else sentAt', () => {
    const filter = DeadLetterFilterSchema.parse({
      orgId: 'org1',
      code: 'ACTION_NOT_FOUND',
      since: '2026-11-20T11:00:00+01:00',
      until: '2026-11-20T10:30:00Z',
    });
    expect(filter.since).toBe('2026-11-20T10:00:00.000Z');
    expect(matchesDeadLetter(letter({}), filter)).toBe(true);
    expect(matchesDeadLetter(letter({ failedAt: '2026-11-20T10:30:00.000Z' }), filter)).toBe(false);
    expect(matchesDeadLetter(letter({ code: 'ORG_NEEDS_REAUTH' }), filter)).toBe(false);
    expect(
      matchesDeadLetter(letter({ failedAt: undefined, sentAt: '2026-11-20T09:59:59.999Z' }), {
        since: '2026-11-20T10:00:00.000Z',
      }),
    ).toBe(false);
    expect(matchesDeadLetter(letter({}), { since: '2026-11-20T10:00:00.000Z' })).toBe(true);
    expect(matchesDeadLetter(letter({ orgId: 'org2' }), { orgId: 'org1' })).toBe(false);
    expect(
      matchesDeadLetter(letter({ type: 'process.launched' }), { type: 'task.completed' }),
    ).toBe(false);
    expect(matchesDeadLetter(letter({}), {})).toBe(true);
  });

  test('bad input is refused naming the field', () => {
    const bad = DeadLetterFilterSchema.safeParse({ code: 'not a code', type: 'task.done' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['code', 'type']);
    const backwards = DeadLetterFilterSchema.safeParse({
      since: '2026-11-21T00:00:00Z',
      until: '2026-11-20T00:00:00Z',
    });
    expect(backwards.error?.issues[0]?.message).toBe('since must be before until');
    expect(DeadLetterFilterSchema.safeParse({ org: 'x' }).success).toBe(false);
  });

  test('a filter reads back as one line', () => {
    expect(describeFilter({ orgId: 'org1', code: 'X' })).toBe('org=org1 code=X');
    expect(describeFilter({})).toBe('every letter');
    expect(describeReplayRequest({ ids: 1 })).toBe('1 letter by id');
    expect(describeReplayRequest({ ids: 2, orgId: 'org1' })).toBe('2 letters by id, org=org1');
    expect(describeReplayRequest({ code: 'X' })).toBe('code=X');
  });
});
