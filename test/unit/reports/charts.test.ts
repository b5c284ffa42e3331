import { describe, expect, test } from 'vitest';
import type { EventFlow } from '../../../shared/orgs/index.ts';
import {
  flowBuckets,
  niceTicks,
  renderChart,
  renderTimeline,
} from '../../../shared/reports/index.ts';

const points = (html: string, series?: string): number => {
  const scope =
    series === undefined
      ? html
      : (html.split(`data-series="${series}"`)[1]?.split('</g>')[0] ?? '');
  return (scope.match(/data-point="/g) ?? []).length;
};

describe('inline SVG charts', () => {
  test('one point per value drawn; a null value draws nothing and is not counted', () => {
    const html = renderChart({
      id: 'flow',
      title: 'Events',
      kind: 'columns',
      categories: ['10:00', '11:00', '12:00'],
      series: [
        { name: 'received', label: 'Received', values: [null, 2, 0] },
        { name: 'processed', label: 'Processed', values: [null, 1, 3] },
      ],
    });
    expect(html).toMatch(/^<figure class="chart" data-chart="flow" data-points="4">/);
    expect(html).toContain('data-series="received" data-points="2"');
    expect(points(html, 'processed')).toBe(2);
    expect(html).toContain('<title>12:00 · Processed: 3</title>');
  });

  test('lines break at a null instead of drawing a zero', () => {
    const html = renderChart({
      id: 'l',
      title: 'L',
      kind: 'lines',
      categories: ['a', 'b', 'c', 'd'],
      series: [{ name: 's', label: 'S', values: [1, 2, null, 4] }],
    });
    expect(points(html)).toBe(3);
    const path = /<path class="line s0" d="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(path.match(/M/g)).toHaveLength(2);
  });

  test('user-written text is escaped, and nothing uses inline styles or external references', () => {
    const html = renderChart({
      id: 'rows',
      title: 'Cycle <time>',
      kind: 'rows',
      categories: ['<script>alert(1)</script>', 'Onboarding "EU" & UK'],
      series: [{ name: 'median', label: 'Median', values: [1.5, 12] }],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Onboarding &quot;EU&quot; &amp; UK');
    expect(html).not.toMatch(/style=|href=|src=|https?:/);
    expect(points(html)).toBe(2);
  });

  test('every attribute is well formed (a browser would refuse a malformed one)', () => {
    for (const kind of ['columns', 'lines', 'rows'] as const) {
      const html = renderChart({
        id: kind,
        title: kind,
        kind,
        categories: ['a', 'b'],
        series: [
          { name: 'x', label: 'X', values: [1, 2] },
          { name: 'y', label: 'Y', values: [3, null], color: 3 },
        ],
      });
      const tags = html.match(/<[a-z][^>]*>/g) ?? [];
      for (const tag of tags) {
        expect(tag, tag).toMatch(/^<[a-z]+(\s[a-zA-Z0-9-]+="[^"]*")*\s*\/?>$/);
      }
    }
  });

  test('an empty chart says so', () => {
    const html = renderChart({ id: 'e', title: 'E', kind: 'columns', categories: [], series: [] });
    expect(html).toContain('data-points="0"');
    expect(html).toContain('No data');
  });

  test('timeline: one mark per point in its lane, out-of-range points pinned to the edge', () => {
    const html = renderTimeline({
      id: 'expiries',
      title: 'Token expiries',
      fromMs: 0,
      toMs: 1000,
      lanes: ['healthy', 'needs_reauth'],
      points: [
        { lane: 0, atMs: 500, label: 'a' },
        { lane: 0, atMs: 5000, label: 'b' },
        { lane: 1, atMs: -5, label: 'c' },
      ],
    });
    expect(html).toContain('data-chart="expiries" data-points="3"');
    expect(points(html, 'healthy')).toBe(2);
    expect(points(html, 'needs_reauth')).toBe(1);
  });

  test('axis ticks are round numbers reaching the maximum', () => {
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(1234).at(-1)).toBeGreaterThanOrEqual(1234);
  });
});

describe('event flow buckets', () => {
  const flow: EventFlow = {
    epoch: '2026-11-20T10',
    hours: [
      {
        hour: '2026-11-20T10',
        received: 3,
        recovered: 1,
        processed: 3,
        deadLettered: 1,
        byType: {
          'task.completed': { received: 2, recovered: 1, processed: 2, deadLettered: 1 },
          'process.launched': { received: 1, recovered: 0, processed: 1, deadLettered: 0 },
        },
      },
      {
        hour: '2026-11-21T08',
        received: 5,
        recovered: 0,
        processed: 5,
        deadLettered: 0,
        byType: { 'task.completed': { received: 5, recovered: 0, processed: 5, deadLettered: 0 } },
      },
    ],
  };

  test('hours before the epoch have no data; hours after it without items are zeros', () => {
    const buckets = flowBuckets(flow, {
      bucket: 'hour',
      fromMs: Date.parse('2026-11-20T08:30:00Z'),
      count: 4,
    });
    expect(buckets.starts[0]).toBe(Date.parse('2026-11-20T08:00:00Z'));
    expect(buckets.figures.received).toEqual([null, null, 3, 0]);
  });

  test('days sum their hours; a day that ended before counting began has no data, the day it began in counts from then', () => {
    const buckets = flowBuckets(flow, {
      bucket: 'day',
      fromMs: Date.parse('2026-11-19T12:00:00Z'),
      count: 3,
    });
    expect(buckets.figures.received).toEqual([null, 3, 5]);
    expect(buckets.epoch).toBe('2026-11-20T10');
  });

  test('a type filter counts that type only', () => {
    const buckets = flowBuckets(flow, {
      bucket: 'hour',
      fromMs: Date.parse('2026-11-20T10:00:00Z'),
      count: 1,
      type: 'process.launched',
    });
    expect(buckets.figures.received).toEqual([1]);
    expect(buckets.figures.recovered).toEqual([0]);
  });
});
