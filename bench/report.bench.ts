/**
 * Reporter bench: 10 orgs, 10,000 then 100,000 tasks in all (a process per 10 tasks), pages of
 * 100 as Tallyfy serves them. Each size runs in a child process whose only job is the report
 * run, so its peak RSS (from the OS: `resourceUsage().maxRSS`) is the reporter's alone; the
 * data source lives in that child only as one page of JSON text at a time.
 *
 * Source: a deterministic generator producing Tallyfy-shaped JSON pages (runs, then tasks),
 * parsed with JSON.parse and validated with the same schemas and mapping the Tallyfy adapter
 * uses. It stands in for the sandbox until `local/tallyfy-sandbox` exists (see docs/reports.md,
 * "What is left"); the aggregator, rendering and file writes are the production code.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fileReportSink,
  type ReportSource,
  runReports,
  TallyfyRunSchema,
  TallyfyTaskSchema,
  toReportProcess,
  toReportTask,
} from '../shared/reports/index.ts';
import type { BenchResult } from './types.ts';

export const isolate = true;

const CHILD_FLAG = '--report-child';
const ORGS = 10;
const PER_PAGE = 100;
const TASKS_PER_PROCESS = 10;
const NOW_MS = Date.parse('2026-11-23T06:00:00Z');
const HOUR_MS = 3_600_000;

interface ChildFigures {
  tasks: number;
  pages: number;
  wallMs: number;
  peakRssMB: number;
  ok: boolean;
}

export async function run(): Promise<BenchResult[]> {
  const small = await runChild(10_000);
  const large = await runChild(100_000);
  if (!small.ok || !large.ok) throw new Error('a report failed during the bench');
  const growth = (large.peakRssMB - small.peakRssMB) / small.peakRssMB;
  const note = `${ORGS} orgs, ${TASKS_PER_PROCESS} tasks per process, per_page ${PER_PAGE}, concurrency 4; generated Tallyfy-shaped pages (sandbox not yet available)`;
  return [
    {
      name: 'report wall time (100k tasks, 10 orgs)',
      value: Math.round(large.wallMs),
      unit: 'ms',
      better: 'lower',
      note,
    },
    {
      name: 'report pages/s',
      value: Math.round((large.pages / large.wallMs) * 1000),
      unit: 'pages/s',
      note: `${large.pages} pages`,
    },
    {
      name: 'report peak rss',
      value: round1(large.peakRssMB),
      unit: 'MB',
      target: 256,
      better: 'lower',
      note: 'child process running only the report (100k tasks)',
    },
    {
      name: 'report rss growth 10k→100k tasks',
      value: round1(growth * 100),
      unit: '%',
      target: 25,
      better: 'lower',
      note: `${round1(small.peakRssMB)} MB at 10k tasks, ${round1(large.peakRssMB)} MB at 100k`,
    },
  ];
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Runs one report in a fresh process and reads its figures from its last stdout line. */
async function runChild(totalTasks: number): Promise<ChildFigures> {
  const self = fileURLToPath(import.meta.url);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', self, CHILD_FLAG, String(totalTasks)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
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

/** One page of runs or tasks, as Tallyfy's JSON text (what the HTTP client would parse). */
function pageText(orgId: string, kind: 'runs' | 'tasks', page: number, total: number): string {
  const first = (page - 1) * PER_PAGE;
  const data: unknown[] = [];
  for (let i = first; i < Math.min(first + PER_PAGE, total); i++) {
    data.push(kind === 'runs' ? runJson(orgId, i) : taskJson(orgId, i));
  }
  const totalPages = Math.ceil(total / PER_PAGE);
  return JSON.stringify({
    data,
    meta: {
      pagination: {
        total,
        count: data.length,
        per_page: PER_PAGE,
        current_page: page,
        total_pages: totalPages,
      },
    },
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function runJson(orgId: string, i: number): unknown {
  const launched = NOW_MS - ((i * 7919) % (30 * 24)) * HOUR_MS;
  const completed =
    i % 3 === 0 ? Math.min(NOW_MS - HOUR_MS, launched + ((i * 31) % 200) * HOUR_MS) : null;
  return {
    id: `${orgId}r${String(i).padStart(28, '0')}`,
    increment_id: i,
    checklist_id: `${orgId}c${i % 5}`,
    checklist_title: `Template ${i % 5}`,
    name: `Process ${i} of ${orgId}`,
    summary: '',
    status: completed === null ? 'active' : 'completed',
    progress: completed === null ? 40 : 100,
    created_at: iso(launched),
    started_at: iso(launched),
    completed_at: completed === null ? null : iso(completed),
    prerun: { vendor: 'Northwind Traders', amount: String(i * 13) },
    collaborators: ['u1', 'u2'],
  };
}

function taskJson(orgId: string, i: number): unknown {
  const run = Math.floor(i / TASKS_PER_PROCESS);
  const deadline = NOW_MS + (((i * 104_729) % 480) - 240) * HOUR_MS;
  const completed = i % 2 === 0 ? NOW_MS - ((i * 17) % 300) * HOUR_MS : null;
  return {
    id: `${orgId}t${String(i).padStart(28, '0')}`,
    run_id: `${orgId}r${String(run).padStart(28, '0')}`,
    title: `Step ${i % TASKS_PER_PROCESS} of process ${run}`,
    alias: `step-${i % TASKS_PER_PROCESS}`,
    status: completed === null ? 'not-started' : 'completed',
    position: i % TASKS_PER_PROCESS,
    deadline: iso(deadline),
    completed_at: completed === null ? null : iso(completed),
    owners: { users: [`u${(i * 7) % 53}`], guests: [], groups: [] },
    summary: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(4),
  };
}

/** Serves each org's runs then tasks page by page, as JSON text parsed one page at a time. */
function generatedSource(tasksPerOrg: number): ReportSource {
  const runsPerOrg = Math.ceil(tasksPerOrg / TASKS_PER_PROCESS);
  async function* pages(orgId: string, kind: 'runs' | 'tasks', total: number) {
    for (let page = 1; page <= Math.max(1, Math.ceil(total / PER_PAGE)); page++) {
      // yield to the event loop as a network read would, so orgs interleave
      await new Promise((resolve) => setImmediate(resolve));
      const body = JSON.parse(pageText(orgId, kind, page, total)) as { data: unknown[] };
      yield body.data;
    }
  }
  return {
    async *processes(orgId) {
      for await (const data of pages(orgId, 'runs', runsPerOrg)) {
        const items = data.map((raw) => toReportProcess(TallyfyRunSchema.parse(raw), Date.parse));
        yield { items, calls: 1 };
      }
    },
    async *tasks(orgId) {
      for await (const data of pages(orgId, 'tasks', tasksPerOrg)) {
        const items = data.map((raw) => toReportTask(TallyfyTaskSchema.parse(raw), Date.parse));
        yield { items, calls: 1 };
      }
    },
  };
}

async function child(totalTasks: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'report-bench-'));
  try {
    const orgs = Array.from({ length: ORGS }, (_, i) => ({
      orgId: `org${i}`,
      timezone: 'Europe/London',
    }));
    const started = performance.now();
    const result = await runReports(
      {
        source: generatedSource(totalTasks / ORGS),
        sink: fileReportSink(root),
        orgs: {
          activeOrgs: async () => orgs,
          getOrg: async (id) => orgs.find((o) => o.orgId === id),
        },
        clock: () => NOW_MS,
        concurrency: 4,
      },
      { kind: 'scheduled', firedAtMs: NOW_MS },
    );
    const wallMs = performance.now() - started;
    const pages = result.orgs.reduce((sum, o) => sum + (o.ok ? o.pagesFetched : 0), 0);
    const figures: ChildFigures = {
      tasks: totalTasks,
      pages,
      wallMs,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      ok: result.orgs.every((o) => o.ok),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD_FLAG) {
  child(Number(process.argv[3])).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
