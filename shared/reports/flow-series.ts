/**
 * Event flow as chart data: the registry's hourly counters (shared/orgs `readEventFlow`) in
 * hour or day buckets. A bucket that ended before counting began (the flow epoch) has no data
 * (`null`), never a zero that would read as "nothing arrived".
 */
import {
  type EventFlow,
  FLOW_FIGURES,
  type FlowCounts,
  type FlowFigure,
  hourStartMs,
} from '../orgs/index.ts';
import type { ChartSpec } from './charts.ts';
import { DAY_MS } from './period.ts';

const HOUR_MS = 3_600_000;

/** Counts per bucket; a figure's value is `null` where there is no data. */
export interface FlowBuckets {
  readonly bucket: 'hour' | 'day';
  /** The first hour ever counted (`yyyy-mm-ddThh`), `null` when nothing was. */
  readonly epoch: string | null;
  /** Epoch ms of each bucket's start. */
  readonly starts: readonly number[];
  readonly figures: Readonly<Record<FlowFigure, readonly (number | null)[]>>;
}

/** One colour per figure in every chart (the chart's `s0`…`s3` slots). */
export const FLOW_COLORS: Readonly<Record<FlowFigure, number>> = {
  received: 0,
  recovered: 1,
  processed: 2,
  deadLettered: 3,
};

/** Labels of the figures, in chart order. */
export const FLOW_LABELS: Readonly<Record<FlowFigure, string>> = {
  received: 'Received (webhook)',
  recovered: 'Recovered (reconciler)',
  processed: 'Processed',
  deadLettered: 'Dead-lettered',
};

/**
 * Buckets `count` hours or days starting at `fromMs` (aligned down to the bucket), from the
 * stored hours of `flow`; with `type`, only that event type's counts.
 *
 * @example
 * const flow = await registry.readEventFlow({ sinceHour, untilHour });
 * flowBuckets(flow, { bucket: 'hour', fromMs: now - 23 * 3_600_000, count: 24 });
 */
export function flowBuckets(
  flow: EventFlow,
  options: { bucket: 'hour' | 'day'; fromMs: number; count: number; type?: string | undefined },
): FlowBuckets {
  const size = options.bucket === 'hour' ? HOUR_MS : DAY_MS;
  const first = Math.floor(options.fromMs / size) * size;
  const starts = Array.from({ length: options.count }, (_, i) => first + i * size);
  const epochMs = flow.epoch === null ? Number.POSITIVE_INFINITY : hourStartMs(flow.epoch);
  const sums = starts.map(() => ({ received: 0, recovered: 0, processed: 0, deadLettered: 0 }));
  for (const hour of flow.hours) {
    const at = hourStartMs(hour.hour);
    const index = Math.floor((at - first) / size);
    const sum = sums[index];
    if (sum === undefined) continue;
    const counts: FlowCounts | undefined =
      options.type === undefined ? hour : hour.byType[options.type];
    if (counts === undefined) continue;
    for (const figure of FLOW_FIGURES) sum[figure] += counts[figure];
  }
  const figures = Object.fromEntries(
    FLOW_FIGURES.map((figure) => [
      figure,
      // no data for a bucket that ended before counting began; the bucket counting began in
      // holds what was counted since (the chart's note says when that was)
      starts.map((start, i) => (start + size <= epochMs ? null : (sums[i] as FlowCounts)[figure])),
    ]),
  ) as Record<FlowFigure, (number | null)[]>;
  return { bucket: options.bucket, epoch: flow.epoch, starts, figures };
}

/** `HH:00` for hours, `MM-DD` for days (UTC). */
export function bucketLabel(bucket: 'hour' | 'day', startMs: number): string {
  const iso = new Date(startMs).toISOString();
  return bucket === 'hour' ? `${iso.slice(11, 13)}:00` : iso.slice(5, 10);
}

/** A columns chart of the buckets (the console's and report.html's event flow chart). */
export function flowChart(
  id: string,
  title: string,
  buckets: FlowBuckets,
  figures: readonly FlowFigure[] = FLOW_FIGURES,
): ChartSpec {
  const anyNull = figures.some((f) => buckets.figures[f].some((v) => v === null));
  return {
    id,
    title,
    kind: 'columns',
    categories: buckets.starts.map((start) => bucketLabel(buckets.bucket, start)),
    series: figures.map((figure) => ({
      name: figure,
      label: FLOW_LABELS[figure],
      values: buckets.figures[figure],
      color: FLOW_COLORS[figure],
    })),
    unit: 'events',
    note: flowNote(buckets.bucket, buckets.epoch, anyNull),
  };
}

/** The note under a flow chart: the time axis, and since when events are counted. */
export function flowNote(bucket: 'hour' | 'day', epoch: string | null, anyNull: boolean): string {
  const since =
    epoch === null
      ? ' No event counted yet.'
      : ` Counted since ${epoch.replace('T', ' ')}:00 UTC${anyNull ? '; empty slots are before that (no data, not zero)' : ''}.`;
  return `UTC ${bucket === 'hour' ? 'hours' : 'days'}.${since} Dead-lettered counts each time an event was dead-lettered, replayed since or not.`;
}
