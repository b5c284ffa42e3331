import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, test } from 'vitest';
import {
  accessForCalls,
  EventsPipeline,
  FUNCTION_RUNTIME,
  ORGS_TABLE_READ_ONLY,
  OrgsTable,
  SecretsAccess,
  Storage,
  TallyfyFunction,
} from '../../infra/index.ts';
import { newApp, newStack, policyStatements } from './support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/handler.ts', import.meta.url));

describe('TallyfyFunction', () => {
  test('bundles a real handler as minified ESM with a source map and runs it', async () => {
    const app = newApp({ bundle: true });
    const stack = newStack(app);
    new TallyfyFunction(stack, 'Fixture', { entry: FIXTURE, serviceName: 'fixture' });
    const assembly = app.synth();
    const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    expect(Object.keys(template.findResources('AWS::Lambda::Function'))).toHaveLength(1);
    const assets = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const dir = join(assembly.directory, assets[0] ?? '');
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(bundle).toContain('createRequire(import.meta.url)');
    expect(bundle.split('\n').length).toBeLessThan(10); // minified
    const loaded = (await import(join(dir, 'index.mjs'))) as {
      handler: (event: unknown) => Promise<{ kind: string }>;
    };
    await expect(loaded.handler([1])).resolves.toEqual({ kind: 'array' });
  });

  const stack = newStack(newApp());
  const fn = new TallyfyFunction(stack, 'Worker', {
    entry: FIXTURE,
    serviceName: 'event-worker',
    environment: { EXTRA: 'yes', LOG_LEVEL: 'DEBUG' },
    reservedConcurrentExecutions: 3,
  });
  const template = Template.fromStack(stack);

  test('defaults: ARM64, the newest Node runtime, 30 s, Powertools env merged with the caller’s', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: FUNCTION_RUNTIME.name,
      Timeout: 30,
      MemorySize: 512,
      ReservedConcurrentExecutions: 3,
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'event-worker',
          // the stack's own namespace: two stacks never mix their metrics
          POWERTOOLS_METRICS_NAMESPACE: 'TallyfyServerless/Test',
          LOG_LEVEL: 'DEBUG',
          // no --enable-source-maps: it would parse the map at every cold start
          NODE_OPTIONS: Match.absent(),
          EXTRA: 'yes',
        },
      },
    });
  });

  test('the runtime is the newest Node.js runtime the installed aws-cdk-lib knows', () => {
    const node = Runtime.ALL.filter((r) => /^nodejs\d+\.x$/.test(r.name)).map((r) =>
      Number(r.name.replace(/\D/g, '')),
    );
    expect(FUNCTION_RUNTIME.name).toBe(`nodejs${Math.max(...node)}.x`);
  });

  test('logs go to its own log group with a month of retention, written by its own role only', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('WorkerLogs') } },
    });
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  test('binding a resource sets its variable and grants access together', () => {
    const bindStack = newStack(newApp(), 'Binds');
    const orgs = new OrgsTable(bindStack, 'Orgs');
    const events = new EventsPipeline(bindStack, 'Events');
    const storage = new Storage(bindStack, 'Storage');
    const secrets = new SecretsAccess(bindStack, 'Secrets', { prefix: 'tallyfy-serverless/T' });
    const refresher = new TallyfyFunction(bindStack, 'Refresher', {
      entry: FIXTURE,
      serviceName: 'token-refresher',
    });
    const worker = new TallyfyFunction(bindStack, 'Worker', {
      entry: FIXTURE,
      serviceName: 'event-worker',
    });
    worker
      .bindTable(orgs.table, accessForCalls(['getOrg', 'claimEvent', 'listOrgs']))
      .bindTokenSecrets(secrets)
      .bindEventsQueue(events.queue)
      .bindEventBus(events.bus)
      .bindArchiveBucket(storage.archiveBucket)
      .bindReportsBucket(storage.reportsBucket)
      .bindRefreshRequests(refresher.function)
      .consumeQueue(events.queue);
    const bound = Template.fromStack(bindStack);
    const workerFn = Object.values(
      bound.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'event-worker' } } },
      }),
    )[0];
    expect(Object.keys(workerFn?.Properties.Environment.Variables).sort()).toEqual(
      [
        'ARCHIVE_BUCKET',
        'EVENTS_QUEUE_URL',
        'EVENT_BUS_NAME',
        'LOG_LEVEL',
        'ORGS_TABLE',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'REFRESH_REQUESTS',
        'REPORTS_BUCKET',
        'SECRET_PREFIX',
      ].sort(),
    );
    const actions = policyStatements(bound).flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        'dynamodb:PutItem',
        'dynamodb:Query',
        'secretsmanager:GetSecretValue',
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'events:PutEvents',
        's3:PutObject',
        'lambda:InvokeFunction',
      ]),
    );
    expect(actions).not.toContain('secretsmanager:PutSecretValue');
    bound.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('a read-only table binding grants no writes', () => {
    const roStack = newStack(newApp(), 'ReadOnly');
    const orgs = new OrgsTable(roStack, 'Orgs');
    new TallyfyFunction(roStack, 'Reporter', { entry: FIXTURE, serviceName: 'reporter' }).bindTable(
      orgs.table,
      ORGS_TABLE_READ_ONLY,
    );
    const actions = policyStatements(Template.fromStack(roStack)).flatMap((s) => [s.Action].flat());
    expect(actions).toContain('dynamodb:Query');
    expect(actions.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
  });

  test('table grants name the indexes and limit item actions to their key prefixes', () => {
    const grantStack = newStack(newApp(), 'Grants');
    const orgs = new OrgsTable(grantStack, 'Orgs');
    new TallyfyFunction(grantStack, 'Fn', { entry: FIXTURE, serviceName: 'reconciler' }).bindTable(
      orgs.table,
      accessForCalls(['listOrgs', 'getOrg', 'getWatermark', 'findSeen', 'markSeen']),
    );
    const statements = policyStatements(Template.fromStack(grantStack)).filter((s) =>
      [s.Action].flat().some((a) => a.startsWith('dynamodb:')),
    );
    const tableArn = { 'Fn::GetAtt': ['OrgsTable', 'Arn'] };
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'dynamodb:GetItem',
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORG#*'] } },
        }),
        expect.objectContaining({
          Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EVENT#*'] } },
        }),
        expect.objectContaining({
          Action: 'dynamodb:Query',
          Resource: { 'Fn::Join': ['', [tableArn, '/index/byKind']] },
        }),
      ]),
    );
    expect(statements).toHaveLength(3);
    expect(JSON.stringify(statements)).not.toContain('index/*');
  });

  test('a malformed table access is refused naming the problem', () => {
    const bad = newStack(newApp(), 'BadAccess');
    const orgs = new OrgsTable(bad, 'Orgs');
    const fn = new TallyfyFunction(bad, 'Fn', { entry: FIXTURE, serviceName: 'reporter' });
    expect(() =>
      fn.bindTable(orgs.table, [{ why: 'x', actions: ['Scan'], keyPrefixes: ['ORG#'] }]),
    ).toThrow(/keyPrefixes need table item actions other than Scan/);
    expect(() =>
      fn.bindTable(orgs.table, [{ why: 'y', actions: ['GetItem'], index: 'byKind' }]),
    ).toThrow(/an index only serves Query/);
  });

  test('consuming a queue whose visibility timeout is under 6x the function timeout is refused', () => {
    const qStack = newStack(newApp(), 'Queue');
    const queue = new Queue(qStack, 'Q', { visibilityTimeout: Duration.seconds(60) });
    const slow = new TallyfyFunction(qStack, 'Slow', {
      entry: FIXTURE,
      serviceName: 'event-worker',
      timeout: Duration.seconds(20),
    });
    expect(() => slow.consumeQueue(queue)).toThrow(/at least 6 x the function timeout \(120 s\)/);
  });

  test('invalid props are rejected naming the prop', () => {
    const bad = new Stack(newApp(), 'Bad');
    expect(
      () => new TallyfyFunction(bad, 'A', { entry: FIXTURE, serviceName: 'Bad Name' }),
    ).toThrow(/serviceName/);
    expect(
      () => new TallyfyFunction(bad, 'B', { entry: FIXTURE, serviceName: 'x', memorySize: 64 }),
    ).toThrow(/memorySize/);
    expect(
      () =>
        new TallyfyFunction(bad, 'C', {
          entry: FIXTURE,
          serviceName: 'x',
          reservedConcurrentExecutions: -1,
        }),
    ).toThrow(/reservedConcurrentExecutions/);
    expect(existsSync(FIXTURE)).toBe(true);
  });

  test('metricsNamespace sets POWERTOOLS_METRICS_NAMESPACE; one the functions would refuse is rejected', () => {
    const nsStack = newStack(newApp(), 'Namespaced');
    new TallyfyFunction(nsStack, 'Fn', {
      entry: FIXTURE,
      serviceName: 'reporter',
      metricsNamespace: 'Acme/Tallyfy',
    });
    Template.fromStack(nsStack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_METRICS_NAMESPACE: 'Acme/Tallyfy' }),
      },
    });
    expect(
      () =>
        new TallyfyFunction(nsStack, 'Bad', {
          entry: FIXTURE,
          serviceName: 'reporter',
          metricsNamespace: 'AWS/Lambda',
        }),
    ).toThrow(/metricsNamespace must be a CloudWatch namespace/);
  });

  test('the lock file is found from the entry, not from the working directory', () => {
    const cwd = process.cwd();
    const elsewhere = mkdtempSync(join(tmpdir(), 'tallyfy-cwd-'));
    try {
      process.chdir(elsewhere);
      const lockStack = newStack(newApp(), 'Elsewhere');
      expect(
        () => new TallyfyFunction(lockStack, 'Fn', { entry: FIXTURE, serviceName: 'reporter' }),
      ).not.toThrow();
      const orphan = join(elsewhere, 'handler.ts');
      writeFileSync(orphan, 'export const handler = async () => 1;\n');
      expect(
        () => new TallyfyFunction(lockStack, 'Orphan', { entry: orphan, serviceName: 'reporter' }),
      ).toThrow(/no lock file .* in the directory of entry .* set depsLockFilePath/);
    } finally {
      process.chdir(cwd);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('the function exposes its role and log group for further grants', () => {
    expect(fn.role.roleArn).toBeDefined();
    expect(fn.logGroup.logGroupName).toBeDefined();
  });
});
