/**
 * Event flow counters, the finished-events log and replay records, on DynamoDB Local: what the
 * console's event-flow page and report.html read, written by claimEvent / markEvent as the
 * worker calls them.
 */
import { describe, expect, test } from 'vitest';
import { freshRegistry, testClock } from './support.ts';

const ORG = 'org5f4e3d2c1b0a';
const OTHER = 'orgbeef00000001';
const key = (task: string, type = 'task.completed') => `${type}:${task}:2026-03-01T11:00:00.000Z`;

describe('event flow counters', () => {
  test('a new webhook claim counts as received for the org and for all orgs; a duplicate does not', async () => {
    const { registry } = await freshRegistry('flow-recv', {
      clock: testClock('2026-03-01T12:10:00.000Z'),
    });
    await registry.claimEvent(key('t1'), { orgId: ORG, origin: 'webhook' });
    await registry.claimEvent(key('t1'), { orgId: ORG, origin: 'webhook' });
    await registry.claimEvent(key('t2'), { orgId: OTHER, origin: 'webhook' });

    const org = await registry.readEventFlow({
      orgId: ORG,
      sinceHour: '2026-03-01T00',
      untilHour: '2026-03-01T23',
    });
    expect(org.hours).toEqual([
      {
        hour: '2026-03-01T12',
        received: 1,
        recovered: 0,
        processed: 0,
        deadLettered: 0,
        byType: { 'task.completed': { received: 1, recovered: 0, processed: 0, deadLettered: 0 } },
      },
    ]);
    const all = await registry.readEventFlow({
      sinceHour: '2026-03-01T00',
      untilHour: '2026-03-01T23',
    });
    expect(all.hours.map((h) => h.received)).toEqual([2]);
    expect(all.epoch).toBe('2026-03-01T12');
  });

  test('recovered counts only reconciler claims; a replay claim is neither received nor recovered', async () => {
    const { registry } = await freshRegistry('flow-recov', {
      clock: testClock('2026-03-01T12:10:00.000Z'),
    });
    await registry.claimEvent(key('p1', 'process.launched'), { orgId: ORG, origin: 'reconciler' });
    await registry.claimEvent(key('t9'), { orgId: ORG, origin: 'replay' });
    const flow = await registry.readEventFlow({
      orgId: ORG,
      sinceHour: '2026-03-01T12',
      untilHour: '2026-03-01T12',
    });
    expect(flow.hours[0]).toMatchObject({ received: 0, recovered: 1 });
    expect(flow.hours[0]?.byType).toEqual({
      'process.launched': { received: 0, recovered: 1, processed: 0, deadLettered: 0 },
    });
  });

  test('done counts processed, failed counts dead-lettered, once per change of status; a replay that succeeds counts processed in its own hour', async () => {
    const clock = testClock('2026-03-01T12:10:00.000Z');
    const { registry } = await freshRegistry('flow-outcome', { clock });
    await registry.claimEvent(key('t1'), { orgId: ORG, origin: 'webhook' });
    await registry.claimEvent(key('t2'), { orgId: ORG, origin: 'webhook' });
    await registry.markEvent(key('t1'), 'done');
    await registry.markEvent(key('t1'), 'done');
    await registry.markEvent(key('t2'), 'failed');

    clock.set('2026-03-01T14:05:00.000Z');
    // the operator's replay: the worker marks the failed claim claimed again, then done
    await registry.markEvent(key('t2'), 'claimed');
    await registry.markEvent(key('t2'), 'done');

    const flow = await registry.readEventFlow({
      orgId: ORG,
      sinceHour: '2026-03-01T00',
      untilHour: '2026-03-01T23',
    });
    expect(flow.hours.map(({ byType: _t, ...h }) => h)).toEqual([
      { hour: '2026-03-01T12', received: 2, recovered: 0, processed: 1, deadLettered: 1 },
      { hour: '2026-03-01T14', received: 0, recovered: 0, processed: 1, deadLettered: 0 },
    ]);
  });

  test('the epoch is the first hour ever counted and does not move', async () => {
    const clock = testClock('2026-03-01T09:59:00.000Z');
    const { registry } = await freshRegistry('flow-epoch', { clock });
    expect(
      (await registry.readEventFlow({ sinceHour: '2026-03-01T00', untilHour: '2026-03-01T23' }))
        .epoch,
    ).toBeNull();
    await registry.claimEvent(key('t1'), { orgId: ORG, origin: 'webhook' });
    clock.set('2026-03-01T11:00:00.000Z');
    await registry.claimEvent(key('t2'), { orgId: ORG, origin: 'webhook' });
    expect(
      (await registry.readEventFlow({ sinceHour: '2026-03-01T00', untilHour: '2026-03-01T23' }))
        .epoch,
    ).toBe('2026-03-01T09');
  });

  test('a malformed query is refused with the field named', async () => {
    const { registry } = await freshRegistry('flow-input');
    await expect(
      registry.readEventFlow({ sinceHour: '2026-03-01', untilHour: '2026-03-01T23' }),
    ).rejects.toThrow(/sinceHour/);
  });
});

describe('finished events', () => {
  test('newest first, per org or for all orgs across days, filtered by type, paged with a cursor', async () => {
    const clock = testClock('2026-03-01T23:50:00.000Z');
    const { registry } = await freshRegistry('flow-outcomes', { clock });
    const finish = async (
      task: string,
      orgId: string,
      status: 'done' | 'failed',
      type = 'task.completed',
    ) => {
      await registry.claimEvent(key(task, type), { orgId, origin: 'webhook' });
      await registry.markEvent(key(task, type), status);
      clock.advance(5 * 60_000);
    };
    await finish('a1', ORG, 'done');
    await finish('a2', OTHER, 'failed');
    await finish('a3', ORG, 'done', 'process.launched'); // the next day (00:00)
    await finish('a4', ORG, 'failed');

    const mine = await registry.listEventOutcomes({ orgId: ORG });
    expect(mine.outcomes.map((o) => [o.subject, o.status, o.type])).toEqual([
      ['a4', 'failed', 'task.completed'],
      ['a3', 'done', 'process.launched'],
      ['a1', 'done', 'task.completed'],
    ]);
    expect(mine.cursor).toBeUndefined();

    const first = await registry.listEventOutcomes({ limit: 2 });
    expect(first.outcomes.map((o) => o.subject)).toEqual(['a4', 'a3']);
    const second = await registry.listEventOutcomes({ limit: 2, cursor: first.cursor as string });
    expect(second.outcomes.map((o) => [o.subject, o.orgId])).toEqual([
      ['a2', OTHER],
      ['a1', ORG],
    ]);

    const launched = await registry.listEventOutcomes({ type: 'process.launched' });
    expect(launched.outcomes.map((o) => o.subject)).toEqual(['a3']);
  });
});

describe('replay records', () => {
  test('who, when, what and how it went, newest first', async () => {
    const clock = testClock('2026-03-01T12:00:00.000Z');
    const { registry } = await freshRegistry('replays', { clock });
    const first = await registry.startReplay({
      by: 'ops@laptop',
      via: 'cli',
      filter: { ids: 1 },
      requested: 1,
      ratePerMinute: 100,
    });
    clock.advance(60_000);
    const second = await registry.startReplay({
      by: 'arn:aws:sts::123456789012:assumed-role/Ops/jane',
      via: 'console',
      filter: { orgId: ORG, code: 'ACTION_NOT_FOUND' },
      requested: 7,
      ratePerMinute: 60,
    });
    clock.advance(30_000);
    const done = await registry.updateReplay(second, {
      replayed: 6,
      failed: 1,
      status: 'finished',
    });
    expect(done).toMatchObject({
      status: 'finished',
      replayed: 6,
      failed: 1,
      finishedAt: '2026-03-01T12:01:30.000Z',
    });

    const page = await registry.listReplays();
    expect(page.replays.map((r) => [r.replayId, r.by, r.status])).toEqual([
      [second.replayId, 'arn:aws:sts::123456789012:assumed-role/Ops/jane', 'finished'],
      [first.replayId, 'ops@laptop', 'running'],
    ]);
  });

  test('an unknown via is refused', async () => {
    const { registry } = await freshRegistry('replays-input');
    await expect(
      registry.startReplay({
        by: 'x',
        via: 'email' as 'cli',
        filter: {},
        requested: 0,
        ratePerMinute: 1,
      }),
    ).rejects.toThrow(/via/);
  });
});
