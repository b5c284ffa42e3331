/**
 * Function bundles: size of each part's `index.mjs` against its budget, and a cold-start proxy:
 * the module init time of each bundled handler (a fresh `node` process per measurement,
 * `import()` of the bundle with the environment the stack gives the function, as Lambda's
 * runtime loads it) as a ratio to an empty ESM handler measured the same way in the same run.
 * See docs/benchmarks.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_SIZE_BUDGET_BYTES } from '../infra/constructs/parts.ts';
import {
  lambdaRuntimeEnvironment,
  measureModuleInit,
  median,
  synthBundles,
} from '../infra/tooling/bundles.ts';
import type { BenchResult } from './types.ts';

/** Rounds of measurement; each round starts one fresh process per bundle and one empty. */
const ROUNDS = 9;

const kib = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function run(): Promise<BenchResult[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'tallyfy-bundle-bench-'));
  try {
    const bundles = synthBundles(join(outdir, 'cdk.out'));
    const empty = join(outdir, 'empty.mjs');
    writeFileSync(empty, 'export const handler = async () => ({});\n');
    const emptyEnv = { ...lambdaRuntimeEnvironment('empty'), NODE_OPTIONS: '--enable-source-maps' };

    // one warm-up round (file cache, node binary), then rounds that interleave the empty
    // handler with every bundle so all of them see the same machine state
    const samples = new Map<string, number[]>([['empty', []]]);
    for (let round = 0; round <= ROUNDS; round++) {
      const measured = [
        { key: 'empty', init: await measureModuleInit(empty, emptyEnv) },
        ...(await sequential(bundles, async (b) => ({
          key: b.part,
          init: await measureModuleInit(b.file, b.environment),
        }))),
      ];
      if (round === 0) continue;
      for (const { key, init } of measured) {
        if (!init.hasHandler) throw new Error(`${key}: the module exports no handler`);
        samples.set(key, [...(samples.get(key) ?? []), init.initMs]);
      }
    }
    const baselineMs = median(samples.get('empty') ?? []);

    const results: BenchResult[] = bundles.map((bundle) => ({
      name: `bundle size: ${bundle.part}`,
      value: kib(bundle.sizeBytes),
      unit: 'KiB',
      target: kib(BUNDLE_SIZE_BUDGET_BYTES[bundle.part]),
      better: 'lower',
      targetOf: 'value',
      note: `minified ESM, AWS SDK bundled; source map ${kib(bundle.sourceMapBytes)} KiB`,
    }));
    for (const bundle of bundles) {
      const initMs = median(samples.get(bundle.part) ?? []);
      results.push({
        name: `cold start: ${bundle.part} module init`,
        value: round(initMs, 1),
        unit: 'ms',
        baseline: round(baselineMs, 2),
        ratio: round(initMs / baselineMs, 1),
        better: 'lower',
        note: `median of ${ROUNDS} fresh node processes: import() of index.mjs with the stack's env (NODE_OPTIONS=--enable-source-maps); baseline: empty ESM handler, same rounds`,
      });
    }
    results.push({
      name: 'cold start: empty ESM handler module init',
      value: round(baselineMs, 2),
      unit: 'ms',
      note: `median of ${ROUNDS} fresh node processes, interleaved with the bundles`,
    });
    return results;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

async function sequential<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}
