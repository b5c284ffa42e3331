/**
 * The one test file that bundles for real: the default stack is synthesized once with esbuild,
 * as `cdk synth` does, and each function's bundle is checked for format, size budget, and that
 * it initialises in a fresh Node process with exactly the environment the template gives it.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUNDLE_SIZE_BUDGET_BYTES, TALLYFY_PARTS, TallyfyStack } from '../../infra/index.ts';
import {
  type FunctionBundle,
  functionBundles,
  measureModuleInit,
  readBundle,
} from '../../infra/tooling/bundles.ts';
import { newApp, TEST_ENV } from './support.ts';

let assembly: CloudAssembly;
let bundles: FunctionBundle[];

const outdir = mkdtempSync(join(tmpdir(), 'tallyfy-bundles-'));

beforeAll(() => {
  const app = newApp({
    bundle: true,
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  new TallyfyStack(app, 'Bundled', { env: TEST_ENV });
  assembly = app.synth();
  bundles = functionBundles(assembly, 'Bundled');
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('function bundles (real esbuild bundling, as cdk synth does)', () => {
  test('every part is bundled into its own asset: one ESM index.mjs plus its source map', () => {
    expect(bundles.map((b) => b.part)).toEqual([...TALLYFY_PARTS]);
    for (const bundle of bundles) {
      expect(readdirSync(dirname(bundle.file)).sort(), bundle.part).toEqual([
        'index.mjs',
        'index.mjs.map',
      ]);
      const code = readBundle(bundle);
      // ESM with the createRequire banner for CommonJS dependencies, minified, map linked
      expect(code.startsWith("import { createRequire } from 'module';"), bundle.part).toBe(true);
      expect(code, bundle.part).toMatch(/export\s*\{[^}]*\bhandler\b/);
      // minified: no indentation-and-newline layout (template literals keep a few newlines)
      expect(code.length / code.split('\n').length, bundle.part).toBeGreaterThan(2_000);
      expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map'), bundle.part).toBe(true);
    }
  });

  test('each bundle stays within its size budget', () => {
    const over = bundles
      .filter((b) => b.sizeBytes > BUNDLE_SIZE_BUDGET_BYTES[b.part])
      .map((b) => `${b.part}: ${b.sizeBytes} B > ${BUNDLE_SIZE_BUDGET_BYTES[b.part]} B`);
    expect(over).toEqual([]);
  });

  test('each bundle initialises with exactly the environment the stack gives its function', async () => {
    for (const bundle of bundles) {
      const init = await measureModuleInit(bundle.file, bundle.environment);
      expect(init.hasHandler, bundle.part).toBe(true);
    }
  }, 60_000);

  test('a bundle refuses to start when the stack forgets a variable it needs, and its stack names the TypeScript sources', async () => {
    const receiver = bundles.find((b) => b.part === 'webhook-receiver');
    const { ORGS_TABLE: _dropped, ...withoutTable } = receiver?.environment ?? {};
    const failure = measureModuleInit(receiver?.file ?? '', withoutTable);
    await expect(failure).rejects.toThrow(/ORGS_TABLE is not set/);
    // mapped through index.mjs.map when printed (no --enable-source-maps in the template)
    await expect(failure).rejects.toThrow(/\bat loadConfig \((\S*\/)?shared\/config\.ts:\d+:\d+\)/);
    await expect(failure).rejects.toThrow(
      /\bat \(?(\S*\/)?functions\/webhook-receiver\/index\.ts:\d+:\d+\)?$/m,
    );
  }, 30_000);
});
