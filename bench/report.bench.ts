/**
 * Reporter bench: 10 orgs served by the Tallyfy sandbox over loopback HTTP, 10,000 then 100,000
 * tasks in all (10 tasks per process), `per_page` 100, REPORT_CONCURRENCY 4 (the default).
 *
 * The sandbox lives in this (the harness's isolated) process; each size's report runs in a
 * fresh child process whose only job is the report run — the production Tallyfy client,
 * source, aggregator, rendering and file sink — so its peak RSS (from the OS:
 * `resourceUsage().maxRSS`) is the reporter's alone and not the sandbox's data. Tokens are
 * personal access tokens of each org's admin, handed to the child in its environment.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_SEED_NOW,
  type SeedSpecOrg,
  startSandbox,
} from '../local/tallyfy-sandbox/index.ts';
import {
  fileReportSink,
  runReports,
  tallyfyClientLists,
  tallyfyReportSource,
} from '../shared/reports/index.ts';
import { Secret } from '../shared/secret.ts';
import {
  closeSharedDispatchers,
  createTallyfyClient,
  parseTallyfyDateMs,
  staticToken,
} from '../shared/tallyfy/index.ts';
import type { BenchResult } from './types.ts';

export const isolate = true;

const CHILD_FLAG = '--report-child';
const ORGS = 10;
const TASKS_PER_PROCESS = 10;
const CONCURRENCY = 4;
const NOW_MS = Date.parse(DEFAULT_SEED_NOW) + 6 * 3_600_000;
/**
 * The reporter's deployment setting (NODE_OPTIONS of its Lambda, see docs/reports.md): V8
 * collects the old generation at 128 MB instead of growing headroom up to ~4× the live heap.
 * The reporter's live heap stays ~21 MB whatever the size; the uncapped run is reported too.
 */
const HEAP_CAP = ['--max-old-space-size=128'];

interface ChildFigures {
  tasks: number;
  pages: number;
  apiCalls: number;
  wallMs: number;
  peakRssMB: number;
  ok: boolean;
}

/** What the child needs: the API URL and, per org, its id and token. */
interface ChildInput {
  url: string;
  orgs: { orgId: string; token: string }[];
  tasks: number;
}

const sizes = { small: 10_000, large: 100_000 } as const;

function orgSpecs(label: string, totalTasks: number): SeedSpecOrg[] {
  return Array.from({ length: ORGS }, (_, i) => ({
    id: `bench-${label}-${i}`,
    timezone: 'Europe/London',
    templates: 5,
    processes: totalTasks / ORGS / TASKS_PER_PROCESS,
    tasksPerProcess: TASKS_PER_PROCESS,
  }));
}

export async function run(): Promise<BenchResult[]> {
  const sandbox = await startSandbox({
    seed: {
      seed: 11,
      orgs: [...orgSpecs('small', sizes.small), ...orgSpecs('large', sizes.large)],
    },
    clock: () => NOW_MS,
  });
  try {
    const input = (label: string, tasks: number): ChildInput => ({
      url: sandbox.url,
      tasks,
      orgs: (sandbox.dataset?.orgs ?? [])
        .filter((g) => g.org.id.startsWith(`bench-${label}-`))
        .map((g) => ({ orgId: g.org.id, token: sandbox.issuePersonalAccessToken(g.admin.id) })),
    });
    const small = await runChild(input('small', sizes.small), HEAP_CAP);
    const large = await runChild(input('large', sizes.large), HEAP_CAP);
    const smallUncapped = await runChild(input('small', sizes.small), []);
    const largeUncapped = await runChild(input('large', sizes.large), []);
    if (![small, large, smallUncapped, largeUncapped].every((r) => r.ok)) {
      throw new Error('a report failed during the bench');
    }
    const growth = (a: ChildFigures, b: ChildFigures) =>
      round1(((b.peakRssMB - a.peakRssMB) / a.peakRssMB) * 100);
    const note = `${ORGS} orgs, ${TASKS_PER_PROCESS} tasks per process, per_page 100, concurrency ${CONCURRENCY}; Tallyfy sandbox over loopback HTTP; ${HEAP_CAP.join(' ')}`;
    return [
      {
        name: 'report wall time (100k tasks, 10 orgs)',
        value: Math.round(large.wallMs),
        unit: 'ms',
        better: 'lower',
        note: `${note}; 10k tasks: ${Math.round(small.wallMs)} ms`,
      },
      {
        name: 'report pages/s',
        value: Math.round((large.pages / large.wallMs) * 1000),
        unit: 'pages/s',
        note: `${large.pages} pages, ${large.apiCalls} API calls (100k tasks)`,
      },
      {
        name: 'report peak rss',
        value: round1(large.peakRssMB),
        unit: 'MB',
        target: 256,
        better: 'lower',
        note: `child process running only the report (100k tasks), ${HEAP_CAP.join(' ')}; sandbox in another process`,
      },
      {
        name: 'report rss growth 10k→100k tasks',
        value: growth(small, large),
        unit: '%',
        target: 25,
        better: 'lower',
        note: `${round1(small.peakRssMB)} MB at 10k tasks, ${round1(large.peakRssMB)} MB at 100k (${HEAP_CAP.join(' ')})`,
      },
      {
        name: 'report peak rss, no heap cap (100k tasks)',
        value: round1(largeUncapped.peakRssMB),
        unit: 'MB',
        better: 'lower',
        note: `V8 defaults: ${round1(smallUncapped.peakRssMB)} MB at 10k tasks, growth ${growth(smallUncapped, largeUncapped)}% (GC headroom, not retained data); wall ${Math.round(largeUncapped.wallMs)} ms`,
      },
    ];
  } finally {
    await sandbox.close();
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Runs one report in a fresh process and reads its figures from its last stdout line. */
async function runChild(input: ChildInput, nodeFlags: readonly string[]): Promise<ChildFigures> {
  const self = fileURLToPath(import.meta.url);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', self, CHILD_FLAG], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // tokens travel in the environment, never on the command line (ps shows argv)
      env: { ...process.env, REPORT_BENCH_INPUT: JSON.stringify(input) },
    });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`report child exited with ${code}`)),
    );
  });
  const last = output.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as ChildFigures;
}

async function child(input: ChildInput): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'report-bench-'));
  try {
    const tokens = new Map(input.orgs.map((o) => [o.orgId, o.token]));
    const clients = new Map(
      input.orgs.map((o) => [
        o.orgId,
        createTallyfyClient({ baseUrl: input.url, auth: staticToken(new Secret(o.token)) }),
      ]),
    );
    const orgs = input.orgs.map((o) => ({ orgId: o.orgId, timezone: 'Europe/London' }));
    const started = performance.now();
    const result = await runReports(
      {
        source: tallyfyReportSource(
          (orgId) => {
            const client = clients.get(orgId);
            if (client === undefined || !tokens.has(orgId))
              throw new Error(`no client for ${orgId}`);
            return tallyfyClientLists(client);
          },
          { parseDate: parseTallyfyDateMs },
        ),
        sink: fileReportSink(root),
        orgs: {
          activeOrgs: async () => orgs,
          getOrg: async (id) => orgs.find((o) => o.orgId === id),
        },
        clock: () => NOW_MS,
        concurrency: CONCURRENCY,
      },
      { kind: 'scheduled', firedAtMs: NOW_MS },
    );
    const wallMs = performance.now() - started;
    let pages = 0;
    let apiCalls = 0;
    for (const o of result.orgs) {
      if (!o.ok) process.stderr.write(`report of ${o.orgId} failed: ${o.code} ${o.message}\n`);
      else {
        pages += o.pagesFetched;
        apiCalls += o.apiCalls;
      }
    }
    const figures: ChildFigures = {
      tasks: input.tasks,
      pages,
      apiCalls,
      wallMs,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      ok: result.orgs.every((o) => o.ok),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await closeSharedDispatchers();
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD_FLAG) {
  child(JSON.parse(process.env.REPORT_BENCH_INPUT ?? '{}') as ChildInput).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
