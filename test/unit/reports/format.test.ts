import { describe, expect, test } from 'vitest';
import { toCsv } from '../../../shared/reports/csv.ts';
import { periodKeyDay, scheduledPeriod } from '../../../shared/reports/period.ts';
import { NumberList, quantileOfSorted } from '../../../shared/reports/quantile.ts';
import { formatInTimeZone, isValidTimeZone } from '../../../shared/reports/timezone.ts';

describe('csv', () => {
  test('quotes cells holding commas, quotes and line breaks, with CRLF rows', () => {
    const csv = toCsv(
      ['a', 'b'],
      [
        ['x, y', 'say "hi"'],
        ['two\nlines', 3],
      ],
    );
    expect(csv).toBe('a,b\r\n"x, y","say ""hi"""\r\n"two\nlines",3\r\n');
  });

  test('writes null as an empty cell and keeps negative numbers as numbers', () => {
    expect(toCsv(['a', 'b', 'c'], [[null, -1.5, false]])).toBe('a,b,c\r\n,-1.5,false\r\n');
  });

  test('defuses text cells a spreadsheet would run as formulas', () => {
    const csv = toCsv(['title'], [['=HYPERLINK("x")'], ['@SUM(A1)'], ['+1'], ['-2']]);
    expect(csv.split('\r\n').slice(1, 5)).toEqual([
      `"'=HYPERLINK(""x"")"`,
      `'@SUM(A1)`,
      `'+1`,
      `'-2`,
    ]);
  });
});

describe('quantiles', () => {
  test('median of an even count is the mean of the middle values', () => {
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
  });

  test('p90 interpolates between closest ranks', () => {
    expect(quantileOfSorted([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBeCloseTo(91, 10);
    expect(quantileOfSorted([5], 0.9)).toBe(5);
  });

  test('an empty list has no quantile', () => {
    expect(() => quantileOfSorted([], 0.5)).toThrow(RangeError);
  });

  test('number list grows past its first capacity and sorts numerically', () => {
    const list = new NumberList();
    const values = Array.from({ length: 100 }, (_, i) => (i * 37) % 101);
    for (const v of values) list.push(v);
    expect([...list.sorted()]).toEqual([...values].sort((a, b) => a - b));
  });
});

describe('periods', () => {
  test('a scheduled run covers the whole UTC days before the day it fired', () => {
    const period = scheduledPeriod(Date.parse('2026-11-23T06:00:07Z'), 1);
    expect(new Date(period.sinceMs).toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(new Date(period.untilMs).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(periodKeyDay(period)).toBe('2026-11-22');
  });

  test('a retried invocation on the same day reports on the same period', () => {
    const first = scheduledPeriod(Date.parse('2026-11-23T06:00:00Z'), 7);
    const retry = scheduledPeriod(Date.parse('2026-11-23T06:04:59Z'), 7);
    expect(retry).toEqual(first);
    expect(new Date(first.sinceMs).toISOString()).toBe('2026-11-16T00:00:00.000Z');
  });
});

describe('time zones', () => {
  test('formats local wall-clock time with the offset in force that day', () => {
    const winter = Date.parse('2026-01-15T12:00:00Z');
    const summer = Date.parse('2026-07-15T12:00:00Z');
    expect(formatInTimeZone(winter, 'Europe/London')).toBe('2026-01-15T12:00:00+00:00');
    expect(formatInTimeZone(summer, 'Europe/London')).toBe('2026-07-15T13:00:00+01:00');
    expect(formatInTimeZone(winter, 'America/New_York')).toBe('2026-01-15T07:00:00-05:00');
    expect(formatInTimeZone(winter, 'Asia/Kolkata')).toBe('2026-01-15T17:30:00+05:30');
  });

  test('midnight is 00, not 24', () => {
    expect(formatInTimeZone(Date.parse('2026-03-01T00:00:00Z'), 'UTC')).toBe(
      '2026-03-01T00:00:00+00:00',
    );
  });

  test('rejects zones the runtime does not know', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
