import * as z from 'zod';
import { OrgIdSchema } from '../orgs/index.ts';
import { ReportInputError } from './errors.ts';
import type { ReportRequest } from './generate.ts';
import { DAY_MS, scheduledPeriod } from './period.ts';

/** The longest period an on-demand run may cover. */
export const MAX_PERIOD_DAYS = 366;

/** An EventBridge scheduled event (rule or Scheduler with the default payload shape). */
export const ScheduledEventSchema = z.lazy(() =>
  z.looseObject({
    source: z.literal('aws.events'),
    'detail-type': z.literal('Scheduled Event'),
    time: z.iso.datetime({ offset: true }),
  }),
);

/** `YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time with `Z` or an offset. */
const Instant = z.lazy(() =>
  z
    .union([z.iso.date(), z.iso.datetime({ offset: true })])
    .transform((text) => Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text)),
);

/** An on-demand run for one org and a custom period [since, until); both ends optional. */
export const OnDemandRequestSchema = z.lazy(() =>
  z.strictObject({
    orgId: OrgIdSchema,
    since: Instant.optional(),
    until: Instant.optional(),
  }),
);

/** The period once defaults are filled in: ends after it starts, at most MAX_PERIOD_DAYS. */
const PeriodSchema = z.lazy(() =>
  z
    .object({ since: z.number(), until: z.number() })
    .refine((r) => r.until > r.since, { message: 'until must be after since', path: ['until'] })
    .refine((r) => r.until - r.since <= MAX_PERIOD_DAYS * DAY_MS, {
      message: `the period may cover at most ${MAX_PERIOD_DAYS} days`,
      path: ['until'],
    }),
);

export type OnDemandRequest = z.input<typeof OnDemandRequestSchema>;

/** What fills in an on-demand request's missing ends. */
export interface ReportEventDefaults {
  /** Epoch ms of the invocation. */
  readonly nowMs: number;
  /** Days a scheduled run covers (REPORT_WINDOW_DAYS). @default 1 */
  readonly periodDays?: number | undefined;
}

/**
 * Reads the reporter's event: an EventBridge scheduled event, or `{orgId, since?, until?}`.
 * Without `since` and `until` the period is the scheduled one (the `periodDays` whole UTC days
 * before today); with `since` only it runs until now; with `until` only it starts `periodDays`
 * days earlier. Throws {@link ReportInputError} saying what is wrong otherwise.
 *
 * @example
 * parseReportEvent({ orgId: 'o1', since: '2026-11-01', until: '2026-11-08' }, { nowMs: Date.now() });
 * // { kind: 'on-demand', orgId: 'o1', period: { sinceMs: …, untilMs: … } }
 */
export function parseReportEvent(event: unknown, defaults: ReportEventDefaults): ReportRequest {
  const scheduled = ScheduledEventSchema.safeParse(event);
  if (scheduled.success) return { kind: 'scheduled', firedAtMs: Date.parse(scheduled.data.time) };
  const onDemand = OnDemandRequestSchema.safeParse(event);
  if (!onDemand.success) {
    throw new ReportInputError(
      'expected an EventBridge scheduled event or {orgId, since?, until?} ' +
        `(dates as YYYY-MM-DD or ISO 8601):\n${z.prettifyError(onDemand.error)}`,
      { cause: onDemand.error },
    );
  }
  const { orgId } = onDemand.data;
  const days = defaults.periodDays ?? 1;
  const fallback = scheduledPeriod(defaults.nowMs, days);
  let { since, until } = onDemand.data;
  if (since === undefined && until === undefined) {
    since = fallback.sinceMs;
    until = fallback.untilMs;
  }
  until ??= defaults.nowMs;
  since ??= until - days * DAY_MS;
  const period = PeriodSchema.safeParse({ since, until });
  if (!period.success) {
    throw new ReportInputError(`bad period:\n${z.prettifyError(period.error)}`, {
      cause: period.error,
    });
  }
  return { kind: 'on-demand', orgId, period: { sinceMs: since, untilMs: until } };
}
