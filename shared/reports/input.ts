import { z } from 'zod';
import { ReportInputError } from './errors.ts';
import type { ReportRequest } from './generate.ts';
import { ORG_ID_PATTERN } from './keys.ts';
import { DAY_MS } from './period.ts';

/** The longest period an on-demand run may cover. */
export const MAX_PERIOD_DAYS = 366;

/** An EventBridge scheduled event (rule or Scheduler with the default payload shape). */
export const ScheduledEventSchema = z.looseObject({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
  time: z.iso.datetime({ offset: true }),
});

/** `YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time with `Z` or an offset. */
const Instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((text) => Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text));

/** An on-demand run for one org and a custom period [since, until). */
export const OnDemandRequestSchema = z
  .strictObject({
    orgId: z.string().regex(ORG_ID_PATTERN, 'orgId: letters, digits, "-" and "_" only'),
    since: Instant,
    until: Instant,
  })
  .refine((r) => r.until > r.since, { message: 'until must be after since', path: ['until'] })
  .refine((r) => r.until - r.since <= MAX_PERIOD_DAYS * DAY_MS, {
    message: `the period may cover at most ${MAX_PERIOD_DAYS} days`,
    path: ['until'],
  });

export type OnDemandRequest = z.input<typeof OnDemandRequestSchema>;

/**
 * Reads the reporter's event: an EventBridge scheduled event, or `{orgId, since, until}`.
 * Throws {@link ReportInputError} saying what is wrong with the on-demand shape otherwise.
 *
 * @example
 * parseReportEvent({ orgId: 'o1', since: '2026-11-01', until: '2026-11-08' });
 * // { kind: 'on-demand', orgId: 'o1', period: { sinceMs: …, untilMs: … } }
 */
export function parseReportEvent(event: unknown): ReportRequest {
  const scheduled = ScheduledEventSchema.safeParse(event);
  if (scheduled.success) return { kind: 'scheduled', firedAtMs: Date.parse(scheduled.data.time) };
  const onDemand = OnDemandRequestSchema.safeParse(event);
  if (onDemand.success) {
    const { orgId, since, until } = onDemand.data;
    return { kind: 'on-demand', orgId, period: { sinceMs: since, untilMs: until } };
  }
  throw new ReportInputError(
    'expected an EventBridge scheduled event or {orgId, since, until} ' +
      `(dates as YYYY-MM-DD or ISO 8601):\n${z.prettifyError(onDemand.error)}`,
    { cause: onDemand.error },
  );
}
