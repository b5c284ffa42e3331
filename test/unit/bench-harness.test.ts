import { describe, expect, test } from 'vitest';
import {
  filterResults,
  formatTable,
  meetsTarget,
  mergeResults,
  selectBenches,
  withRatio,
} from '../../bench/run.ts';
import { type BenchResult, measureThroughput, percentile } from '../../bench/types.ts';

const FILES = [
  '/repo/bench/receiver.bench.ts',
  '/repo/bench/client.bench.ts',
  '/repo/bench/secret-reads.bench.ts',
];

const r = (name: string, value: number, extra: Partial<BenchResult> = {}): BenchResult => ({
  name,
  value,
  unit: 'ops/s',
  ...extra,
});

describe('selectBenches', () => {
  test('no filter runs every file, sorted', () => {
    expect(selectBenches(FILES, [])).toEqual({ files: [...FILES].sort() });
  });

  test('a filter picks files whose name contains it, case-insensitively', () => {
    expect(selectBenches(FILES, ['CLIENT'])).toEqual({ files: ['/repo/bench/client.bench.ts'] });
    expect(selectBenches(FILES, ['client', 'secret']).files).toEqual([
      '/repo/bench/client.bench.ts',
      '/repo/bench/secret-reads.bench.ts',
    ]);
  });

  test('a filter matching no file name runs every file and filters result names', () => {
    const selection = selectBenches(FILES, ['P99']);
    expect(selection).toEqual({ files: [...FILES].sort(), resultFilters: ['p99'] });
    const results = [r('client: throughput', 1), r('client: p99 latency', 2)];
    expect(filterResults(results, selection.resultFilters).map((x) => x.name)).toEqual([
      'client: p99 latency',
    ]);
  });
});

describe('mergeResults', () => {
  const previous = [r('a', 1), r('b', 2), r('c', 3)];

  test('a filtered run replaces only the names it re-ran and keeps the others in place', () => {
    const merged = mergeResults(previous, [r('b', 20), r('d', 4)], true);
    expect(merged.map((x) => [x.name, x.value])).toEqual([
      ['a', 1],
      ['b', 20],
      ['c', 3],
      ['d', 4],
    ]);
  });

  test('a full run replaces the whole file', () => {
    expect(mergeResults(previous, [r('b', 20)], false)).toEqual([r('b', 20)]);
  });
});

describe('targets', () => {
  test('the target applies to the ratio when there is one, higher is better by default', () => {
    expect(meetsTarget(withRatio(r('x', 300, { baseline: 100, target: 2 })))).toBe(true);
    expect(meetsTarget(withRatio(r('x', 150, { baseline: 100, target: 2 })))).toBe(false);
  });

  test('better: lower flips the comparison, and targetOf: value ignores the ratio', () => {
    expect(meetsTarget(r('p99', 40, { unit: 'ms', target: 50, better: 'lower' }))).toBe(true);
    expect(meetsTarget(r('p99', 60, { unit: 'ms', target: 50, better: 'lower' }))).toBe(false);
    const both = withRatio(
      r('rss', 90, { baseline: 30, target: 100, better: 'lower', targetOf: 'value' }),
    );
    expect(both.ratio).toBe(3);
    expect(meetsTarget(both)).toBe(true);
  });

  test('a result without target is neither met nor missed', () => {
    expect(meetsTarget(r('x', 1))).toBeUndefined();
  });

  test('the table marks met and missed targets with their direction', () => {
    const table = formatTable([
      withRatio(r('fast', 300, { baseline: 100, target: 2 })),
      r('slow p99', 60, { unit: 'ms', target: 50, better: 'lower' }),
    ]);
    const [header, , fast, slow] = table.split('\n');
    expect(header).toMatch(/^name\s+value\s+unit\s+baseline\s+ratio\s+target$/);
    expect(fast).toMatch(/^fast\s+300\s+ops\/s\s+100\s+3x\s+≥ 2x\s+✓$/);
    expect(slow).toMatch(/^slow p99\s+60\s+ms\s+≤ 50\s+✗ MISSED$/);
  });
});

describe('measurement helpers', () => {
  test('percentile uses nearest rank on unsorted input', () => {
    const values = [9, 1, 5, 3, 7, 2, 8, 4, 6, 10];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(() => percentile([], 50)).toThrow(RangeError);
  });

  test('measureThroughput runs exactly count operations, never more than concurrency at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: number[] = [];
    const result = await measureThroughput({
      concurrency: 3,
      count: 30,
      fn: async (i) => {
        seen.push(i);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
      },
    });
    expect(result.ops).toBe(30);
    expect(maxInFlight).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(result.opsPerSecond).toBeGreaterThan(0);
    expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.p99);
  });

  test('measureThroughput throws the first failure instead of reporting a figure', async () => {
    await expect(
      measureThroughput({
        concurrency: 2,
        count: 10,
        fn: async (i) => {
          if (i === 4) throw new Error('sandbox down');
        },
      }),
    ).rejects.toThrow('sandbox down');
  });
});
