import type { Period } from './types.ts';

export const DAY_MS = 86_400_000;

/** Midnight UTC at the start of the day holding `ms`. */
export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `YYYY-MM-DD` of the UTC day holding `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The period a scheduled run reports on: the `periodDays` whole UTC days before the day the
 * schedule fired. Derived from the event's own `time`, so a retried invocation reports on the
 * same period and overwrites the same keys.
 *
 * @example
 * scheduledPeriod(Date.parse('2026-11-23T06:00:00Z'));
 * // { sinceMs: Date.parse('2026-11-22T00:00:00Z'), untilMs: Date.parse('2026-11-23T00:00:00Z') }
 */
export function scheduledPeriod(firedAtMs: number, periodDays = 1): Period {
  const untilMs = startOfUtcDay(firedAtMs);
  return { sinceMs: untilMs - periodDays * DAY_MS, untilMs };
}

/** The UTC day a period's files are filed under: the day of its last instant. */
export function periodKeyDay(period: Period): string {
  return utcDay(period.untilMs - 1);
}

/** True when `ms` lies in [since, until). */
export function inPeriod(period: Period, ms: number | null): boolean {
  return ms !== null && ms >= period.sinceMs && ms < period.untilMs;
}
