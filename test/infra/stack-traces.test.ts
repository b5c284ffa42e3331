/**
 * Stack traces of a bundled function name the TypeScript sources (issue 10, cold start): the
 * bundle ships `index.mjs.map` and maps frames when a stack is printed, without
 * `--enable-source-maps` parsing the map at every cold start. A real TallyfyFunction bundle of
 * test/infra/fixtures/throwing-handler.ts runs in a fresh Node process with the environment the
 * template gives it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TallyfyFunction } from '../../infra/index.ts';
import { lambdaRuntimeEnvironment } from '../../infra/tooling/bundles.ts';
import { newApp, newStack } from './support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/throwing-handler.ts', import.meta.url));
const FIXTURE_IN_PROJECT = 'test/infra/fixtures/throwing-handler.ts';

/** `line:column` (1-based) of `token` on the fixture's line marked `marker`. */
function positionOf(marker: string, token: string): string {
  const lines = readFileSync(FIXTURE, 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(marker));
  const column = (lines[index] ?? '').indexOf(token) + 1;
  return `${index + 1}:${column}`;
}

/**
 * A frame naming the fixture at `position`. Sources are written relative to where the bundle
 * was built (`cdk.out` in the project gives `test/infra/…`; this test's temporary outdir adds
 * the path from there to the project), so the project path may come after a prefix.
 */
const frameAt = (position: string) =>
  new RegExp(`^ {4}at \\S.* \\((?:[^()]*/)?${FIXTURE_IN_PROJECT}:${position}\\)$`);

const outdir = mkdtempSync(join(tmpdir(), 'tallyfy-stack-traces-'));
let bundleDir: string;
let environment: Record<string, string>;

beforeAll(() => {
  const app = newApp({ bundle: true, outdir });
  const stack = newStack(app);
  new TallyfyFunction(stack, 'Fixture', { entry: FIXTURE, serviceName: 'fixture' });
  const assembly: CloudAssembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: { Environment: { Variables: object } } }>;
  };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
  environment = {
    ...lambdaRuntimeEnvironment('fixture'),
    ...(fn?.Properties.Environment.Variables as Record<string, string>),
  };
  const asset = readdirSync(assembly.directory).find((name) => name.startsWith('asset.'));
  bundleDir = join(assembly.directory, asset ?? '');
}, 60_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/**
 * Imports the bundle in a fresh process, invokes the handler with `event`, and returns what the
 * Lambda runtime would log, the error's stack, and what our logger wrote (errors go to stderr).
 * `hideMapFirst` moves the map away after the import, before the error (and back at the end).
 */
function invoke(
  event: object,
  hideMapFirst = false,
  extraEnvironment: Record<string, string> = {},
): Promise<{ stack: string; logs: string[] }> {
  const script = `
    import { renameSync } from 'node:fs';
    const lines = [];
    process.stderr.write = (chunk) => (lines.push(String(chunk)), true);
    const { handler } = await import(process.argv[1]);
    if (${hideMapFirst}) renameSync(process.argv[2], process.argv[2] + '.hidden');
    try { await handler(JSON.parse(process.argv[3])); } catch (error) {
      process.stdout.write(JSON.stringify({ stack: error.stack, logs: lines.join('').split('\\n').filter(Boolean) }));
    } finally {
      if (${hideMapFirst}) renameSync(process.argv[2] + '.hidden', process.argv[2]);
    }
  `;
  const bundle = join(bundleDir, 'index.mjs');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        script,
        pathToFileURL(bundle).href,
        `${bundle}.map`,
        JSON.stringify(event),
      ],
      {
        env: { PATH: process.env.PATH ?? '', ...environment, ...extraEnvironment },
        timeout: 20_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as { stack: string; logs: string[] });
      },
    );
  });
}

describe('stack traces of a bundled function', () => {
  test('the function runs without --enable-source-maps, and ships its map beside the bundle', () => {
    expect(environment.NODE_OPTIONS ?? '').not.toContain('--enable-source-maps');
    expect(readdirSync(bundleDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const map = JSON.parse(readFileSync(join(bundleDir, 'index.mjs.map'), 'utf8')) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    // positions only: the sources themselves are in the repository
    expect(map.sourcesContent).toBeUndefined();
    expect(map.sources.some((source) => source.endsWith(FIXTURE_IN_PROJECT))).toBe(true);
  });

  test('an error thrown by the handler names the TypeScript file, line and column of each frame', async () => {
    const { stack } = await invoke({ orgId: 'acme' });
    const frames = stack.split('\n');
    expect(frames[0]).toBe('Error: vault of acme is sealed');
    // V8 places an error where it is constructed: `new Error`, then the call of `open`
    expect(frames[1]).toMatch(frameAt(positionOf('THROW SITE', 'new Error')));
    expect(frames[2]).toMatch(frameAt(positionOf('CALL SITE', 'open')));
    expect(stack).not.toContain('index.mjs');
  });

  test('an error logged by our logger carries the mapped stack and location', async () => {
    const { logs } = await invoke({ orgId: 'acme', log: true });
    const line = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.error);
    const error = line?.error as { stack: string; location: string };
    const throwSite = positionOf('THROW SITE', 'new Error');
    expect(error.location).toMatch(new RegExp(`${FIXTURE_IN_PROJECT}:${throwSite.split(':')[0]}$`));
    expect(error.stack).toContain(`${FIXTURE_IN_PROJECT}:${throwSite}`);
  });

  test('the map is not read at import: moved away after the import, frames stay as bundled', async () => {
    const { stack } = await invoke({ orgId: 'acme' }, true);
    expect(stack.split('\n')[1]).toMatch(/\bindex\.mjs:\d+:\d+\)?$/);
    expect(stack).not.toContain('.ts:');
  });

  test('with NODE_OPTIONS=--enable-source-maps set by an operator, Node maps the frames once, itself', async () => {
    const { stack } = await invoke({ orgId: 'acme' }, false, {
      NODE_OPTIONS: '--enable-source-maps',
    });
    const frame = stack.split('\n')[1] ?? '';
    expect(frame).toContain(`throwing-handler.ts:${positionOf('THROW SITE', 'new Error')}`);
    expect(frame).not.toContain('index.mjs');
  });
});
