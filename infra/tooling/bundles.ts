/**
 * Tooling over a synthesized cloud assembly (used by test/infra/bundles.test.ts and
 * bench/bundles.bench.ts, never deployed): find each function's bundle, the environment the
 * template gives it, and how long its module takes to initialise in a fresh Node process, the
 * way Lambda loads it (ESM `import()` of `index.mjs`, with the template's environment).
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { TallyfyFunction } from '../constructs/function.ts';
import { TALLYFY_PARTS, type TallyfyPart } from '../constructs/parts.ts';
import { TallyfyStack } from '../stack.ts';

/** One function's bundle in a cloud assembly. */
export interface FunctionBundle {
  readonly part: TallyfyPart;
  /** Logical id of the `AWS::Lambda::Function`. */
  readonly logicalId: string;
  /** Absolute path of the bundled `index.mjs`. */
  readonly file: string;
  /** Size of `index.mjs` in bytes (what Lambda parses at init). */
  readonly sizeBytes: number;
  /** Size of `index.mjs.map` in bytes (read only when a stack trace is printed). */
  readonly sourceMapBytes: number;
  /** The function's environment variables, CloudFormation references replaced by stand-ins. */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * Values for environment variables the template fills with references (table name, queue URL…)
 * that CloudFormation resolves only at deploy: plausible values of the same shape.
 */
export const DEPLOY_TIME_STAND_INS: Readonly<Record<string, string>> = Object.freeze({
  ORGS_TABLE: 'TallyfyServerless-OrgsTable-1A2B3C4D5E6F',
  EVENTS_QUEUE_URL:
    'https://sqs.eu-west-1.amazonaws.com/123456789012/TallyfyServerless-EventsQueue-1A2B3C4D',
  EVENTS_DLQ_URL:
    'https://sqs.eu-west-1.amazonaws.com/123456789012/TallyfyServerless-EventsDeadLetter-1A2B3C4D',
  EVENT_BUS_NAME: 'TallyfyServerlessTallyfyEventsBus1A2B3C4D',
  ARCHIVE_BUCKET: 'tallyfyserverless-tallyfystoragearchive-1a2b3c4d5e6f',
  REPORTS_BUCKET: 'tallyfyserverless-tallyfystoragereports-1a2b3c4d5e6f',
  REFRESH_REQUESTS: 'TallyfyServerless-TallyfyTokenRefresherFunction-1A2B3C4D',
  SECRET_PREFIX: 'tallyfy-serverless/TallyfyServerless',
});

/** What Lambda's Node runtime sets before loading a handler (the parts our code may read). */
export function lambdaRuntimeEnvironment(part: string, memorySize = 512): Record<string, string> {
  return {
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: part,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
  };
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: {
    readonly Environment?: { readonly Variables?: Record<string, unknown> };
    readonly MemorySize?: number;
  };
  readonly Metadata?: Record<string, unknown>;
}

/**
 * Every Lambda function of `stackName` that is one of our parts (by POWERTOOLS_SERVICE_NAME),
 * with its bundle. The app must have been synthesized with bundling and asset metadata
 * (context `aws:cdk:enable-asset-metadata: true`).
 *
 * @throws Error when a function has no bundle, or an environment variable holds a reference
 *   without a stand-in in {@link DEPLOY_TIME_STAND_INS}
 */
export function functionBundles(assembly: CloudAssembly, stackName: string): FunctionBundle[] {
  const stack = assembly.getStackByName(stackName);
  const resources = (stack.template as { Resources: Record<string, TemplateResource> }).Resources;
  const bundles: FunctionBundle[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const variables = resource.Properties?.Environment?.Variables ?? {};
    const part = variables.POWERTOOLS_SERVICE_NAME;
    if (!(TALLYFY_PARTS as readonly unknown[]).includes(part)) continue;
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') {
      throw new Error(`${logicalId} has no aws:asset:path: synthesize with asset metadata on`);
    }
    const dir = join(assembly.directory, assetPath);
    const file = join(dir, 'index.mjs');
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value === 'string') environment[name] = value;
      else {
        const standIn = DEPLOY_TIME_STAND_INS[name];
        if (standIn === undefined) {
          throw new Error(`${part}: ${name} is a deploy-time reference without a stand-in`);
        }
        environment[name] = standIn;
      }
    }
    bundles.push({
      part: part as TallyfyPart,
      logicalId,
      file,
      sizeBytes: statSync(file).size,
      sourceMapBytes: statSync(`${file}.map`).size,
      environment: {
        ...lambdaRuntimeEnvironment(String(part), resource.Properties?.MemorySize),
        ...environment,
      },
    });
  }
  return bundles.sort((a, b) => TALLYFY_PARTS.indexOf(a.part) - TALLYFY_PARTS.indexOf(b.part));
}

/**
 * The child's script: time `import()` of the module, check it exports `handler`. A failed import
 * prints the error's stack, as Lambda's runtime logs an init error (Node's own report of an
 * uncaught error would also print the whole minified line it was thrown from).
 */
const INIT_PROBE = `
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let mod;
try {
  mod = await import(process.argv[1]);
} catch (error) {
  process.stderr.write(String(error?.stack ?? error));
  process.exit(1);
}
const initMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(JSON.stringify({ initMs, cpuMs, hasHandler: typeof mod.handler === 'function' }));
process.exit(0);
`;

/** One module initialisation, measured in a fresh process. */
export interface ModuleInit {
  /** Milliseconds from `import()` to the module (and its module-scope code) being ready. */
  readonly initMs: number;
  /**
   * CPU time (user + system, every thread) the process spent meanwhile: steadier than `initMs`
   * on a shared machine, where waiting for a core inflates the wall time.
   */
  readonly cpuMs: number;
  /** Whether the module exports a `handler` function. */
  readonly hasHandler: boolean;
}

/** Options of {@link measureModuleInit}. */
export interface MeasureOptions {
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** The `node` binary to run (another Node version). @default process.execPath */
  readonly nodePath?: string;
}

/**
 * Imports `file` (an ES module) in a fresh `node` process with exactly `environment` (plus
 * PATH) and returns how long the import took: the cold-start share our code controls (module
 * parse + module-scope work: config, SDK clients, logger).
 *
 * @throws Error with the child's stderr (the error's stack) when the import fails (such as a
 *   ConfigError naming a variable the stack does not set)
 */
export function measureModuleInit(
  file: string,
  environment: Readonly<Record<string, string>>,
  options: MeasureOptions = {},
): Promise<ModuleInit> {
  const { timeoutMs = 30_000, nodePath = process.execPath } = options;
  return new Promise((resolve, reject) => {
    execFile(
      nodePath,
      ['--input-type=module', '-e', INIT_PROBE, pathToFileURL(file).href],
      { env: { PATH: process.env.PATH ?? '', ...environment }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`importing ${file} failed: ${stderr.trim() || error.message}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as ModuleInit);
        } catch (cause) {
          reject(new Error(`unexpected probe output ${JSON.stringify(stdout)}`, { cause }));
        }
      },
    );
  });
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Reads a bundle's text (for checks such as "is minified ESM"). */
export function readBundle(bundle: FunctionBundle): string {
  return readFileSync(bundle.file, 'utf8');
}

/**
 * Synthesizes the default stack into `outdir` the way `cdk synth` does (cdk.json's feature
 * flags, esbuild bundling, asset metadata) and returns its function bundles.
 *
 * @example
 * const bundles = synthBundles(mkdtempSync(join(tmpdir(), 'bundles-')));
 */
export function synthBundles(outdir: string): FunctionBundle[] {
  const app = cdkJsonApp(outdir);
  new TallyfyStack(app, 'BundleBench', { env: BENCH_ENV });
  return functionBundles(app.synth(), 'BundleBench');
}

/**
 * Bundles other entries as the parts' functions would be: one {@link TallyfyFunction} per part
 * (the same bundling options), its `serviceName` the part. For comparisons such as the
 * cold-start bench's SDK-clients baselines.
 *
 * @example
 * const baselines = synthEntryBundles(dir, { 'token-refresher': 'bench/sdk-baselines/token-refresher.ts', … });
 */
export function synthEntryBundles(
  outdir: string,
  entries: Readonly<Record<TallyfyPart, string>>,
): FunctionBundle[] {
  const app = cdkJsonApp(outdir);
  const stack = new Stack(app, 'EntryBundles', { env: BENCH_ENV });
  for (const part of TALLYFY_PARTS) {
    new TallyfyFunction(stack, part, { entry: entries[part], serviceName: part });
  }
  return functionBundles(app.synth(), 'EntryBundles');
}

const BENCH_ENV = { account: '123456789012', region: 'eu-west-1' };

/** An App with cdk.json's feature flags (not our settings) and asset metadata on. */
function cdkJsonApp(outdir: string): App {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const featureFlags = Object.fromEntries(
    Object.entries(cdkJson.context).filter(([key]) => !key.startsWith('tallyfy:')),
  );
  return new App({ outdir, context: { ...featureFlags, 'aws:cdk:enable-asset-metadata': true } });
}
