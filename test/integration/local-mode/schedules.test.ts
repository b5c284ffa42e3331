import type { ScheduledEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  dailyAtHourUtc,
  everyMinutes,
  scheduledEvent,
  startSchedules,
} from '../../../local/runtime/schedules.ts';
import { ScheduledEventSchema } from '../../../shared/reports/index.ts';

describe('local schedules', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-11-22T05:30:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('the event is what an EventBridge rule sends (and what the reporter parses)', () => {
    const event = scheduledEvent(
      'tallyfy-local-reporter',
      Date.parse('2026-11-22T06:00:00.123Z'),
      'eu-west-1',
    );
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-11-22T06:00:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:events:eu-west-1:000000000000:rule/tallyfy-local-reporter'],
      detail: {},
    });
    expect(ScheduledEventSchema.safeParse(event).success).toBe(true);
  });

  test('cron(0 H * * ? *) fires at the next top of that hour, UTC', () => {
    const next = dailyAtHourUtc(6);
    expect(new Date(next(Date.parse('2026-11-22T05:30:00Z'))).toISOString()).toBe(
      '2026-11-22T06:00:00.000Z',
    );
    expect(new Date(next(Date.parse('2026-11-22T06:00:00Z'))).toISOString()).toBe(
      '2026-11-23T06:00:00.000Z',
    );
  });

  test('a rate schedule fires every interval and never overlaps a run in progress', async () => {
    const events: ScheduledEvent[] = [];
    let finish: (() => void) | undefined;
    const schedules = startSchedules(
      [{ functionName: 'token-refresher', ruleName: 'refresh', next: everyMinutes(5) }],
      {
        run: (_name, event) => {
          events.push(event);
          return new Promise<void>((done) => {
            finish = done;
          });
        },
        region: 'us-east-1',
        clock: Date.now,
        onError: () => undefined,
      },
    );
    expect(schedules.nextRuns()).toEqual({ 'token-refresher': '2026-11-22T05:35:00.000Z' });
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(events.map((e) => e.time)).toEqual(['2026-11-22T05:35:00Z']);
    // still running at the next tick: skipped, as a concurrency of one would
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(events).toHaveLength(1);
    finish?.();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(events.map((e) => e.time)).toEqual(['2026-11-22T05:35:00Z', '2026-11-22T05:45:00Z']);

    const stopped = schedules.stop();
    finish?.();
    await stopped;
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(events).toHaveLength(2);
  });

  test('a failed run is reported and the schedule keeps going', async () => {
    const failures: unknown[] = [];
    let runs = 0;
    const schedules = startSchedules(
      [{ functionName: 'reconciler', ruleName: 'reconcile', next: everyMinutes(1) }],
      {
        run: async () => {
          runs += 1;
          throw new Error('Tallyfy unreachable');
        },
        region: 'us-east-1',
        clock: Date.now,
        onError: (_name, error) => failures.push(error),
      },
    );
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(runs).toBe(2);
    expect(failures.map((e) => (e as Error).message)).toEqual([
      'Tallyfy unreachable',
      'Tallyfy unreachable',
    ]);
    await schedules.stop();
  });
});
