/**
 * Function bundles: the size of each part's `index.mjs`, and a cold-start proxy: the module init
 * of each bundled handler (a fresh `node` process per measurement, `import()` of the bundle with
 * the environment the stack gives the function, as Lambda's runtime loads it) as a ratio to its
 * SDK-clients baseline: a bundle built by the same construct from an entry that only imports and
 * constructs the AWS SDK clients the function constructs (bench/sdk-baselines/). The two are
 * interleaved in one run, so both see the same machine. See docs/benchmarks.md.
 *
 * `BENCH_NODE=/path/to/node` measures with another Node binary (such as 24, Lambda's runtime).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_SIZE_BUDGET_BYTES, TALLYFY_PARTS, type TallyfyPart } from '../infra/index.ts';
import {
  type FunctionBundle,
  type ModuleInit,
  measureModuleInit,
  median,
  synthBundles,
  synthEntryBundles,
} from '../infra/tooling/bundles.ts';
import type { BenchResult } from './types.ts';

/** Measured rounds; each starts one fresh process per bundle and per baseline. */
const ROUNDS = 15;
/** What the issue asks of every part (docs/benchmarks.md). */
const TARGET_RATIO = 1.5;
const TARGET_KIB = 800;

const fromRoot = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const BASELINE_ENTRIES = Object.fromEntries(
  TALLYFY_PARTS.map((part) => [part, fromRoot(`bench/sdk-baselines/${part}.ts`)]),
) as Record<TallyfyPart, string>;

const kib = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function run(): Promise<BenchResult[]> {
  for (const part of TALLYFY_PARTS) assertSameSdkClients(part);
  const nodePath = process.env.BENCH_NODE || process.execPath;
  const nodeVersion = nodeVersionOf(nodePath);
  const outdir = mkdtempSync(join(tmpdir(), 'tallyfy-bundle-bench-'));
  try {
    const bundles = synthBundles(join(outdir, 'functions'));
    const baselines = synthEntryBundles(join(outdir, 'baselines'), BASELINE_ENTRIES);
    const baselineOf = (part: TallyfyPart) =>
      baselines.find((b) => b.part === part) as FunctionBundle;

    // one warm-up round (file cache), then rounds in which each function and its baseline run
    // back to back, in alternating order, with the function's environment
    const samples = new Map<string, ModuleInit[]>();
    for (let round = 0; round <= ROUNDS; round++) {
      for (const bundle of bundles) {
        const pair = [bundle, baselineOf(bundle.part)];
        if (round % 2 === 1) pair.reverse();
        for (const measured of pair) {
          const init = await measureModuleInit(measured.file, bundle.environment, { nodePath });
          if (!init.hasHandler) throw new Error(`${measured.file}: the module exports no handler`);
          const key = `${measured === bundle ? 'fn' : 'base'} ${bundle.part}`;
          if (round > 0) samples.set(key, [...(samples.get(key) ?? []), init]);
        }
      }
    }
    const medians = (key: string) => {
      const inits = samples.get(key) ?? [];
      return { ms: median(inits.map((i) => i.initMs)), cpuMs: median(inits.map((i) => i.cpuMs)) };
    };

    const results: BenchResult[] = bundles.map((bundle) => ({
      name: `bundle size: ${bundle.part}`,
      value: kib(bundle.sizeBytes),
      unit: 'KiB',
      target: TARGET_KIB,
      better: 'lower',
      targetOf: 'value',
      note: `minified ESM, AWS SDK bundled; SDK-clients baseline ${kib(baselineOf(bundle.part).sizeBytes)} KiB; test budget ${kib(BUNDLE_SIZE_BUDGET_BYTES[bundle.part])} KiB; index.mjs.map ${kib(bundle.sourceMapBytes)} KiB beside it, read only when a stack is printed`,
    }));
    for (const bundle of bundles) {
      const fn = medians(`fn ${bundle.part}`);
      const base = medians(`base ${bundle.part}`);
      results.push({
        name: `cold start: ${bundle.part} module init`,
        value: round(fn.ms, 1),
        unit: 'ms',
        baseline: round(base.ms, 1),
        ratio: round(fn.ms / base.ms, 2),
        target: TARGET_RATIO,
        better: 'lower',
        note: `${nodeVersion}; median of ${ROUNDS} fresh processes each: import() of index.mjs ${round(fn.ms, 1)} ms (CPU ${round(fn.cpuMs, 1)} ms) vs the SDK-clients baseline (bench/sdk-baselines/${bundle.part}.ts, same bundling) ${round(base.ms, 1)} ms (CPU ${round(base.cpuMs, 1)} ms), interleaved; CPU ratio ${round(fn.cpuMs / base.cpuMs, 2)}`,
      });
    }
    return results;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The AWS SDK packages a source imports, plus the org table's clients when it builds them. */
function sdkClientsOf(path: string): string[] {
  const source = readFileSync(path, 'utf8');
  const packages = [...source.matchAll(/from '(@aws-sdk\/client-[a-z0-9-]+)'/g)].map((m) => m[1]);
  if (source.includes('createOrgsDynamoClients(')) packages.push('@aws-sdk/client-dynamodb');
  return [...new Set(packages)].sort() as string[];
}

/** A baseline that drifted from its function's entry would measure the wrong thing. */
function assertSameSdkClients(part: TallyfyPart): void {
  const entry = sdkClientsOf(fromRoot(`functions/${part}/index.ts`));
  const baseline = sdkClientsOf(BASELINE_ENTRIES[part]);
  if (entry.join() !== baseline.join()) {
    throw new Error(
      `bench/sdk-baselines/${part}.ts constructs ${baseline.join(', ')}; functions/${part}/index.ts constructs ${entry.join(', ')}`,
    );
  }
}

function nodeVersionOf(nodePath: string): string {
  if (nodePath === process.execPath) return `Node ${process.version}`;
  return `Node ${execFileSync(nodePath, ['--version']).toString().trim()}`;
}
