/**
 * What a bench file exports, the result shape the harness prints and stores, and small
 * measurement helpers shared by every bench. See docs/benchmarks.md.
 *
 * A bench file `bench/<name>.bench.ts` exports `async function run(): Promise<BenchResult[]>`
 * and, when it measures memory, `export const isolate = true` to run in its own process.
 */
import { performance } from 'node:perf_hooks';
import * as z from 'zod';

/** One figure a bench reports. */
export const benchResultSchema = z.strictObject({
  /** Unique across all benches, e.g. `client: GET /me throughput (c=16)`. */
  name: z.string().min(1),
  value: z.number().finite(),
  /** e.g. `req/s`, `ms`, `MiB`, `writes/org`. */
  unit: z.string().min(1),
  /** The same figure for the thing we compare against (plain fetch, the previous design…). */
  baseline: z.number().finite().optional(),
  /** value / baseline; filled in by the harness when a baseline is given without it. */
  ratio: z.number().finite().optional(),
  /** The figure we aim for; compared with `ratio` when there is one, else with `value`. */
  target: z.number().finite().optional(),
  /** Whether bigger or smaller is better for the figure the target applies to. @default 'higher' */
  better: z.enum(['higher', 'lower']).optional(),
  /** Overrides which figure the target applies to. @default 'ratio' when a ratio is present */
  targetOf: z.enum(['value', 'ratio']).optional(),
  /** One line of context: conditions, sample size, caveats. */
  note: z.string().optional(),
});

export type BenchResult = z.infer<typeof benchResultSchema>;

/** The shape of a `bench/*.bench.ts` module. */
export interface BenchModule {
  run(): Promise<BenchResult[]>;
  /** Run this file in its own `node --import tsx` process (clean heap, own peak RSS). */
  isolate?: boolean;
}

/**
 * The p-th percentile (0–100) by nearest rank; the input need not be sorted.
 * @example percentile([5, 1, 3], 50) // 3
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0..100`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Latency summary in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarizeLatencies(latenciesMs: readonly number[]): LatencySummary {
  return {
    p50: percentile(latenciesMs, 50),
    p90: percentile(latenciesMs, 90),
    p99: percentile(latenciesMs, 99),
    max: Math.max(...latenciesMs),
    mean: latenciesMs.reduce((sum, v) => sum + v, 0) / latenciesMs.length,
  };
}

/** Options of {@link measureThroughput}: give `durationMs` or `count` (or both: first reached). */
export interface ThroughputOptions {
  /** Operations in flight at once. */
  concurrency: number;
  /** Stop starting operations after this long. */
  durationMs?: number;
  /** Stop after this many operations. */
  count?: number;
  /** Operations run (and discarded) before measuring, each with the same concurrency. @default 0 */
  warmup?: number;
  /** One operation; `i` counts from 0 across the measured run. */
  fn: (i: number) => Promise<unknown>;
}

export interface ThroughputResult {
  ops: number;
  elapsedMs: number;
  opsPerSecond: number;
  latencyMs: LatencySummary;
}

/**
 * Runs `fn` with a fixed number of operations in flight and reports throughput and latency.
 * The first error stops the run and is thrown: a bench never reports a figure built on
 * failures.
 *
 * @example
 * const r = await measureThroughput({ concurrency: 16, durationMs: 3000, fn: () => client.get('/me') });
 * results.push({ name: 'client: GET /me', value: r.opsPerSecond, unit: 'req/s' });
 */
export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { concurrency, durationMs, count, warmup = 0, fn } = options;
  if (durationMs === undefined && count === undefined) {
    throw new TypeError('measureThroughput needs durationMs or count');
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  if (warmup > 0) await runPool(concurrency, () => true, warmup, fn, []);
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = durationMs === undefined ? Number.POSITIVE_INFINITY : start + durationMs;
  const ops = await runPool(
    concurrency,
    () => performance.now() < deadline,
    count ?? Number.POSITIVE_INFINITY,
    fn,
    latencies,
  );
  const elapsedMs = performance.now() - start;
  if (ops === 0) throw new Error('measureThroughput ran no operation');
  return {
    ops,
    elapsedMs,
    opsPerSecond: (ops / elapsedMs) * 1000,
    latencyMs: summarizeLatencies(latencies),
  };
}

async function runPool(
  concurrency: number,
  keepGoing: () => boolean,
  limit: number,
  fn: (i: number) => Promise<unknown>,
  latencies: number[],
): Promise<number> {
  let started = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && started < limit && keepGoing()) {
      const i = started++;
      const t0 = performance.now();
      try {
        await fn(i);
      } catch (error) {
        failure ??= { error };
        return;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure.error;
  return started;
}

/** Times one async call in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * The largest resident set this process has had so far, in bytes (from the OS: catches peaks
 * between samples). Meaningful for a whole process: use it in an `isolate` bench.
 */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export interface RssSampler {
  /** Stops sampling; returns the peak and the increase over the first sample, in bytes. */
  stop(): { peakBytes: number; growthBytes: number; samples: number };
}

/**
 * Samples `process.memoryUsage.rss()` every `intervalMs` to find the peak during one phase of
 * a bench (the OS peak from {@link peakRssBytes} covers the whole process instead).
 *
 * @example
 * const rss = sampleRss(); await buildReport(); const { peakBytes } = rss.stop();
 */
export function sampleRss(intervalMs = 10): RssSampler {
  const first = process.memoryUsage.rss();
  let peak = first;
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    samples++;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { peakBytes: peak, growthBytes: peak - first, samples: samples + 1 };
    },
  };
}

/** Bytes to MiB, rounded to 0.1. */
export function toMiB(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
