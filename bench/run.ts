/**
 * Bench harness: `npm run bench [-- <filter>...]`. Runs every `bench/*.bench.ts` (or those whose
 * file name contains a filter), prints a table, and writes `bench/results.json`. See
 * docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod';
import { type BenchResult, benchResultSchema } from './types.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = join(BENCH_DIR, 'results.json');
const CHILD_FLAG = '--child';

const resultsSchema = z.array(benchResultSchema);

// ---- pure parts (tested in test/unit/bench-harness.test.ts) --------------------------------

/** What a run does: which files, and which result names to keep. */
export interface Selection {
  files: string[];
  /** When set, keep only results whose name contains one of these (lower-cased). */
  resultFilters?: string[];
}

/**
 * Files whose name contains a filter (case-insensitive). When no file name matches, every file
 * runs and the filters apply to result names instead (`npm run bench -- p99`).
 */
export function selectBenches(files: readonly string[], filters: readonly string[]): Selection {
  const sorted = [...files].sort();
  const wanted = filters.map((f) => f.toLowerCase()).filter((f) => f !== '');
  if (wanted.length === 0) return { files: sorted };
  const byFile = sorted.filter((file) =>
    wanted.some((f) => basename(file).toLowerCase().includes(f)),
  );
  if (byFile.length > 0) return { files: byFile };
  return { files: sorted, resultFilters: wanted };
}

export function filterResults(
  results: readonly BenchResult[],
  resultFilters: readonly string[] | undefined,
): BenchResult[] {
  if (resultFilters === undefined) return [...results];
  return results.filter((r) => resultFilters.some((f) => r.name.toLowerCase().includes(f)));
}

/** Fills in `ratio` = value / baseline when a bench gave a baseline but no ratio. */
export function withRatio(result: BenchResult): BenchResult {
  if (result.ratio !== undefined || result.baseline === undefined || result.baseline === 0) {
    return result;
  }
  return { ...result, ratio: result.value / result.baseline };
}

/**
 * Whether a result meets its target: `undefined` without a target. The target applies to the
 * ratio when there is one (unless `targetOf: 'value'`), else to the value; `better` says which
 * way is good (default higher).
 */
export function meetsTarget(result: BenchResult): boolean | undefined {
  if (result.target === undefined) return undefined;
  const of = result.targetOf ?? (result.ratio !== undefined ? 'ratio' : 'value');
  const figure = of === 'ratio' ? result.ratio : result.value;
  if (figure === undefined) return false;
  return (result.better ?? 'higher') === 'higher'
    ? figure >= result.target
    : figure <= result.target;
}

/**
 * The results file after a run: a full run replaces it; a filtered run replaces only the
 * names it re-ran and keeps the others in their place, appending new names at the end.
 */
export function mergeResults(
  previous: readonly BenchResult[],
  fresh: readonly BenchResult[],
  filtered: boolean,
): BenchResult[] {
  if (!filtered) return [...fresh];
  const freshByName = new Map(fresh.map((r) => [r.name, r]));
  const merged = previous.map((r) => freshByName.get(r.name) ?? r);
  const known = new Set(previous.map((r) => r.name));
  return [...merged, ...fresh.filter((r) => !known.has(r.name))];
}

/** The printed table: name, value, unit, baseline, ratio, target (with direction), ✓/✗. */
export function formatTable(results: readonly BenchResult[]): string {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'target', ''];
  const rows = results.map((r) => {
    const met = meetsTarget(r);
    const direction = (r.better ?? 'higher') === 'higher' ? '≥' : '≤';
    const of = r.targetOf ?? (r.ratio !== undefined ? 'ratio' : 'value');
    return [
      r.name,
      formatNumber(r.value),
      r.unit,
      r.baseline === undefined ? '' : formatNumber(r.baseline),
      r.ratio === undefined ? '' : `${formatNumber(r.ratio)}x`,
      r.target === undefined
        ? ''
        : `${direction} ${formatNumber(r.target)}${of === 'ratio' ? 'x' : ''}`,
      met === undefined ? '' : met ? '✓' : '✗ MISSED',
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const numeric = new Set([1, 3, 4]);
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  return abs >= 100 ? n.toFixed(0) : abs >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

// ---- running ----------------------------------------------------------------------------

async function findBenchFiles(): Promise<string[]> {
  const entries = await readdir(BENCH_DIR);
  return entries.filter((name) => name.endsWith('.bench.ts')).map((name) => join(BENCH_DIR, name));
}

/**
 * Read without importing: importing in this process would load the bench's dependencies and
 * spoil the clean heap the child process is for.
 */
async function wantsIsolation(file: string): Promise<boolean> {
  const source = await readFile(file, 'utf8');
  return /^export const isolate\s*(:\s*boolean\s*)?=\s*true\b/m.test(source);
}

async function runInProcess(file: string): Promise<BenchResult[]> {
  const mod: unknown = await import(pathToFileURL(file).href);
  const run = (mod as { run?: unknown }).run;
  if (typeof run !== 'function') throw new Error(`${basename(file)} does not export run()`);
  const results: unknown = await run();
  const parsed = resultsSchema.safeParse(results);
  if (!parsed.success) {
    throw new Error(`${basename(file)} returned invalid results: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

async function runIsolated(file: string): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-'));
  const out = join(dir, 'results.json');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, file, out],
        { stdio: 'inherit' },
      );
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`${basename(file)} failed in its own process (exit ${code})`);
    return resultsSchema.parse(JSON.parse(await readFile(out, 'utf8')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readPreviousResults(): Promise<BenchResult[]> {
  try {
    return resultsSchema.parse(JSON.parse(await readFile(RESULTS_FILE, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${RESULTS_FILE} is not a results file; move it away and re-run`, {
      cause: error,
    });
  }
}

async function main(filters: string[]): Promise<number> {
  const selection = selectBenches(await findBenchFiles(), filters);
  if (selection.files.length === 0) {
    process.stdout.write('no bench/*.bench.ts files found\n');
    return 0;
  }
  const fresh: BenchResult[] = [];
  let failures = 0;
  for (const file of selection.files) {
    const isolated = await wantsIsolation(file);
    process.stderr.write(`▶ ${basename(file)}${isolated ? ' (own process)' : ''}\n`);
    try {
      const results = isolated ? await runIsolated(file) : await runInProcess(file);
      fresh.push(...filterResults(results, selection.resultFilters).map(withRatio));
    } catch (error) {
      failures++;
      process.stderr.write(`✗ ${basename(file)} threw:\n${formatError(error)}\n`);
    }
  }
  const names = fresh.map((r) => r.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) {
    process.stderr.write(
      `✗ two results are named ${JSON.stringify(duplicate)}; names must be unique\n`,
    );
    failures++;
  }
  process.stdout.write(`\n${formatTable(fresh)}\n`);
  const notes = fresh.filter((r) => r.note !== undefined);
  if (notes.length > 0) {
    process.stdout.write(`\n${notes.map((r) => `- ${r.name}: ${r.note}`).join('\n')}\n`);
  }
  const missed = fresh.filter((r) => meetsTarget(r) === false);
  if (missed.length > 0) {
    process.stdout.write(
      `\n${missed.length} target(s) missed: ${missed.map((r) => r.name).join('; ')}\n`,
    );
  }
  const partial = filters.length > 0 || failures > 0;
  const merged = mergeResults(await readPreviousResults(), fresh, partial);
  await writeFile(RESULTS_FILE, `${JSON.stringify(merged, null, 2)}\n`);
  process.stdout.write(`\nwrote ${merged.length} result(s) to ${RESULTS_FILE}\n`);
  return failures > 0 ? 1 : 0;
}

function formatError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

/** The child side of an isolated bench: run one file, write its results where told. */
async function child(file: string, out: string): Promise<void> {
  const results = await runInProcess(file);
  await writeFile(out, JSON.stringify(results));
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  if (args[0] === CHILD_FLAG && args[1] !== undefined && args[2] !== undefined) {
    child(args[1], args[2]).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${formatError(error)}\n`);
        process.exit(1);
      },
    );
  } else {
    main(args.filter((a) => a !== '--')).then(
      (code) => process.exit(code),
      (error: unknown) => {
        process.stderr.write(`${formatError(error)}\n`);
        process.exit(1);
      },
    );
  }
}
