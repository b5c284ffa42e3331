/**
 * Event flow as chart data: the registry's hourly counters (shared/orgs `readEventFlow`) in
 * hour or day buckets. A bucket that starts before counting began (the flow epoch) has no data
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
  /** Epoch ms of each bucket's start. */
  readonly starts: readonly number[];
  readonly figures: Readonly<Record<FlowFigure, readonly (number | null)[]>>;
}

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
      starts.map((start, i) => (start < epochMs ? null : (sums[i] as FlowCounts)[figure])),
    ]),
  ) as Record<FlowFigure, (number | null)[]>;
  return { bucket: options.bucket, starts, figures };
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
    })),
    unit: 'events',
    note: `UTC ${buckets.bucket === 'hour' ? 'hours' : 'days'}.${anyNull ? ' Empty slots: before event counting began (no data, not zero).' : ''}`,
  };
}
