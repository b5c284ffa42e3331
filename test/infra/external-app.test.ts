/**
 * The construct in someone else's CDK app: a project in a temporary directory, outside this
 * repository, with its own package.json and lock file, that depends on this package the way
 * `npm install file:…` does (a symlink in its node_modules). Its app composes two integrations
 * in one stack, adds a function after construction, uses non-default props, registers its own
 * worker entry, grants an operator role, and synthesizes with real bundling and cdk-nag,
 * run from its own directory.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from './emitters.ts';

const run = promisify(execFile);
const ours = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const version = (name: string) => ours.dependencies[name] ?? ours.devDependencies[name] ?? '';

const APP = `
import { writeFileSync } from 'node:fs';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ORGS_TABLE_READ_ONLY, TallyfyIntegration } from 'tallyfy-serverless/infra/index.ts';

// two integrations without their own names: the clear error, before anything is built
try {
  const probe = new Stack(new App(), 'Probe');
  new TallyfyIntegration(probe, 'First');
  new TallyfyIntegration(probe, 'Second');
  writeFileSync('clash.txt', 'no error');
} catch (error) {
  writeFileSync('clash.txt', error.message);
}

const app = new App();
const stack = new Stack(app, 'AcmeOps', { description: 'Acme operations' });
const main = new TallyfyIntegration(stack, 'Tallyfy', {
  alarmEmail: 'ops@acme.example',
  schedules: { refreshIntervalMinutes: 10, reconcileIntervalMinutes: 30, reportHourUtc: 4 },
  workerTimeout: Duration.seconds(60),
  reservedConcurrency: { 'event-worker': 20 },
  webhookThrottle: { rateLimit: 500, burstLimit: 1500 },
  entries: { 'event-worker': 'src/worker.ts' },
  dashboardName: 'acme-tallyfy',
});
const eu = new TallyfyIntegration(stack, 'TallyfyEu', {
  secretPrefix: 'acme/tallyfy-eu',
  metricsNamespace: 'Acme/TallyfyEu',
  orgsTableLogicalId: 'OrgsTableEu',
});
// a function of ours, after construction: its errors alarm joins the dashboard
main
  .addFunction('Audit', { part: 'reporter', entry: 'src/audit.ts' })
  .bindTable(main.orgs.table, ORGS_TABLE_READ_ONLY);
const operators = new Role(stack, 'Operators', { assumedBy: new AccountRootPrincipal() });
main.grantOperator(operators);
eu.grantOperator(operators);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

let dir: string;
let template: { Resources: ReturnType<Template['findResources']> };
let stdout = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'acme-ops-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'acme-ops',
        private: true,
        type: 'module',
        dependencies: {
          'tallyfy-serverless': `file:${REPO_ROOT}`,
          'aws-cdk-lib': version('aws-cdk-lib'),
          constructs: version('constructs'),
        },
        devDependencies: {
          'cdk-nag': version('cdk-nag'),
          esbuild: version('esbuild'),
          tsx: version('tsx'),
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'acme-ops', lockfileVersion: 3, requires: true, packages: {} }),
  );
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  // what npm install does: a link for the file: dependency, the packages for the others
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'tallyfy-serverless'), 'dir');
  for (const name of ['aws-cdk-lib', 'constructs', 'cdk-nag', 'esbuild', 'tsx']) {
    symlinkSync(join(REPO_ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  symlinkSync('../esbuild/bin/esbuild', join(dir, 'node_modules', '.bin', 'esbuild'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(
    join(dir, 'src', 'worker.ts'),
    "// Acme's worker entry: our handler, re-exported (code automations would register here)\nexport { handler } from 'tallyfy-serverless/functions/event-worker/index.ts';\n",
  );
  writeFileSync(
    join(dir, 'src', 'audit.ts'),
    'export const handler = async (event: unknown) => ({ audited: Array.isArray(event) });\n',
  );
  writeFileSync(join(dir, 'app.ts'), APP);
  const result = await run(process.execPath, ['--import', 'tsx', 'app.ts'], {
    cwd: dir,
    timeout: 280_000,
    env: { ...process.env, CDK_OUTDIR: join(dir, 'cdk.out') },
  });
  stdout = result.stdout + result.stderr;
  template = JSON.parse(readFileSync(join(dir, 'cdk.out', 'AcmeOps.template.json'), 'utf8'));
}, 300_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const ofType = (type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

describe('TallyfyIntegration in an app outside this repository', () => {
  test('synthesizes from its own directory, bundling every function, cdk-nag clean', () => {
    expect(stdout).not.toMatch(/AwsSolutions-|ValidationFailed/);
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(11); // 2 x 5 parts + the audit function
    const assets = readdirSync(join(dir, 'cdk.out')).filter((name) => name.startsWith('asset.'));
    const bundles = assets.filter((name) => existsSync(join(dir, 'cdk.out', name, 'index.mjs')));
    expect(bundles.length).toBeGreaterThanOrEqual(7); // identical bundles share one asset
  });

  test('two integrations share the stack with their own table, namespace and secret prefix', () => {
    expect(
      ofType('AWS::DynamoDB::Table')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['OrgsTable', 'OrgsTableEu']);
    const env = ofType('AWS::Lambda::Function').map(([, f]) => f.Properties.Environment.Variables);
    expect(new Set(env.map((v) => v.POWERTOOLS_METRICS_NAMESPACE))).toEqual(
      new Set(['TallyfyServerless/AcmeOps', 'Acme/TallyfyEu']),
    );
    expect(new Set(env.map((v) => v.SECRET_PREFIX).filter(Boolean))).toEqual(
      new Set(['tallyfy-serverless/AcmeOps', 'acme/tallyfy-eu']),
    );
  });

  test('without their own names, the second integration fails at construction, naming the props', () => {
    expect(readFileSync(join(dir, 'clash.txt'), 'utf8')).toMatch(
      /Probe\/Second is the second integration in stack Probe with secretPrefix "tallyfy-serverless\/Probe" .*; give each integration of a stack its own secretPrefix, metricsNamespace and orgsTableLogicalId/,
    );
  });

  test('non-default props take effect', () => {
    const stages = ofType('AWS::ApiGatewayV2::Stage').map(
      ([, s]) => s.Properties.DefaultRouteSettings,
    );
    expect(stages).toContainEqual({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1500 });
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(
      ([, m]) => m.Properties.ScalingConfig,
    );
    expect(mappings).toContainEqual({ MaximumConcurrency: 20 });
    const schedules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression);
    expect(schedules).toEqual(
      expect.arrayContaining(['rate(10 minutes)', 'rate(30 minutes)', 'cron(0 4 * * ? *)']),
    );
    expect(ofType('AWS::SNS::Subscription').map(([, s]) => s.Properties.Endpoint)).toEqual([
      'ops@acme.example',
    ]);
  });

  test('the function added after construction has its errors alarm on the dashboard', () => {
    const audit = ofType('AWS::Lambda::Function').find(([id]) => id.includes('Audit'));
    expect(audit).toBeDefined();
    const alarm = ofType('AWS::CloudWatch::Alarm').find(
      ([, a]) => a.Properties.Dimensions?.[0]?.Value?.Ref === audit?.[0],
    );
    expect(alarm).toBeDefined();
    const dashboard = ofType('AWS::CloudWatch::Dashboard').find(
      ([, d]) => d.Properties.DashboardName === 'acme-tallyfy',
    );
    expect(JSON.stringify(dashboard?.[1].Properties.DashboardBody)).toContain(
      `"Fn::GetAtt":["${alarm?.[0]}","Arn"]`,
    );
  });
});
