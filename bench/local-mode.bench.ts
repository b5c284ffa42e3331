/**
 * Local mode under a burst: 2,000 `task.completed` webhooks posted at 50 concurrent to the
 * local receiver (`POST /hooks/<org>/<secret>` over loopback), while everything else runs in
 * the same process as `npm start` runs it: the worker drains the queue and, per event, the
 * demo rule launches a process and comments in the sandbox; every launch makes the sandbox
 * deliver its own `process.launched` webhook back to the receiver (5 s timeout, one attempt).
 *
 * 200 more go first, unmeasured, to warm Node's and DynamoDB Local's JITs up. Reports
 * accepted/s and p50/p99 of the burst, and how many of the sandbox's own deliveries failed (a
 * failed delivery is a webhook Tallyfy would never send again). Isolated: its own process, its
 * own DynamoDB Local. See docs/benchmarks.md.
 *
 * `BENCH_LOCAL_MODE_SKIP_DRAIN=1` stops after the burst (minutes sooner, for iterating): the
 * dropped-deliveries figure needs the drain, so that run reports only the first two.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { type LocalMode, startLocalMode } from '../local/runtime/index.ts';
import { type BenchResult, measureThroughput } from './types.ts';

export const isolate = true;

const WEBHOOKS = 2_000;
/** Sent first and not measured: the JITs of Node and DynamoDB Local's JVM warm up. */
const WARMUP = 200;
const CONCURRENCY = 50;
const FIXTURE = new URL('../test/unit/webhooks/fixtures/task-completed.json', import.meta.url);

interface SandboxStats {
  requests: Record<string, number>;
  webhooksSent: number;
  webhooksFailed: number;
}

export async function run(): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), 'bench-local-mode-'));
  let local: LocalMode | undefined;
  try {
    local = await startLocalMode({
      env: {
        LOG_LEVEL: 'ERROR',
        // the per-org pacing is Tallyfy's budget (100 calls a minute), not local mode's: at it
        // the worker's 4,400 calls of the drain would take 45 minutes against the sandbox
        TALLYFY_REQUESTS_PER_MINUTE: '10000',
      },
      port: 0,
      dataDir: join(root, 'data'),
      schedules: false,
      logSink: () => undefined,
    });
    const demo = local.demo;
    if (!demo || !local.urls.sandbox) throw new Error('local mode started without the demo org');
    const sandboxOrigin = local.urls.sandbox;
    const webhook = new URL(demo.webhookUrl.reveal());
    const template = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
      this_task: { completed_at: string };
    };
    // one distinct event per request (the dedupe key holds the completion time)
    const baseMs = Date.parse(template.this_task.completed_at);
    const bodies = Array.from({ length: WARMUP + WEBHOOKS }, (_, i) => {
      const body = structuredClone(template);
      body.this_task.completed_at = new Date(baseMs + (i + 1) * 1000)
        .toISOString()
        .replace(/\.000Z$/, 'Z');
      return JSON.stringify(body);
    });

    const pool = new Pool(webhook.origin, { connections: CONCURRENCY, pipelining: 1 });
    const post = async (i: number) => {
      const response = await pool.request({
        method: 'POST',
        path: webhook.pathname,
        headers: { 'content-type': 'application/json', 'x-tallyfy-orgid': demo.orgId },
        body: bodies[i] ?? '',
      });
      const text = await response.body.text();
      if (response.statusCode !== 202) {
        throw new Error(`webhook ${i} answered ${response.statusCode}: ${text}`);
      }
    };
    await measureThroughput({ concurrency: CONCURRENCY, count: WARMUP, fn: post });
    const burst = await measureThroughput({
      concurrency: CONCURRENCY,
      count: WEBHOOKS,
      fn: (i) => post(WARMUP + i),
    });
    await pool.close();
    const p = (ms: number) => Math.round(ms * 10) / 10;
    const burstResults: BenchResult[] = [
      {
        name: 'local mode: 2,000 webhooks at 50 concurrent',
        value: Math.round(burst.opsPerSecond * 10) / 10,
        unit: 'accepted/s',
        target: 300,
        targetOf: 'value',
        note: `p50 ${p(burst.latencyMs.p50)} ms, p90 ${p(burst.latencyMs.p90)} ms, p99 ${p(burst.latencyMs.p99)} ms, max ${p(burst.latencyMs.max)} ms; every answer 202; worker, sandbox and engines in the same process, as npm start runs them`,
      },
      {
        name: 'local mode: p99 latency of 2,000 webhooks at 50 concurrent',
        value: p(burst.latencyMs.p99),
        unit: 'ms',
        target: 250,
        better: 'lower',
        targetOf: 'value',
      },
    ];
    if (process.env.BENCH_LOCAL_MODE_SKIP_DRAIN === '1') return burstResults;

    // the worker's launches make the sandbox deliver process.launched: wait for every one
    const drainStartedAt = Date.now();
    const deadline = drainStartedAt + 600_000;
    let stats: SandboxStats;
    for (;;) {
      await local.drainQueue();
      stats = (await (await fetch(`${sandboxOrigin}/_sandbox/stats`)).json()) as SandboxStats;
      const launches = stats.requests['POST /organizations/:org/runs'] ?? 0;
      const settled = stats.webhooksSent + stats.webhooksFailed;
      // one launch per accepted task.completed event
      if (launches >= WARMUP + WEBHOOKS && settled >= launches) {
        await local.drainQueue();
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`after 10 minutes: ${launches} launches, ${settled} deliveries settled`);
      }
      await sleep(250);
    }
    const launches = stats.requests['POST /organizations/:org/runs'] ?? 0;
    const drainSeconds = Math.round((Date.now() - drainStartedAt) / 100) / 10;

    return [
      ...burstResults,
      {
        name: 'local mode: sandbox webhooks dropped',
        value: stats.webhooksFailed,
        unit: 'deliveries',
        target: 0,
        better: 'lower',
        targetOf: 'value',
        note: `of ${stats.webhooksSent + stats.webhooksFailed} deliveries by the sandbox (${launches} processes launched by the worker, 5 s timeout, one attempt); queue drained ${drainSeconds} s after the burst`,
      },
    ];
  } finally {
    await local?.stop();
    await rm(root, { recursive: true, force: true });
  }
}
