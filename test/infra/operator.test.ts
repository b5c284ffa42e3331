/**
 * `grantOperator(principal)` covers what the CLI does against a deployed stack, read from the
 * code: every AWS SDK command the operator code constructs (bin/, and the data-layer modules the
 * CLI target hands out: the org registry, the token store, the dead-letter tools), mapped to
 * its IAM action and checked against the operator's policy, on the right resource.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { describe, expect, test } from 'vitest';
import { ORGS_TABLE_LOGICAL_ID, TallyfyIntegration } from '../../infra/index.ts';
import { REPO_ROOT, reachableFiles, stripComments } from './emitters.ts';
import { newApp, type PolicyStatementJson, TEST_ENV } from './support.ts';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/**
 * The files whose AWS calls run against a deployed stack when an operator uses the CLI (or the
 * console, which reads through the same target code). Reachable files outside these are
 * imported by the CLI for their types or helpers but run elsewhere: shared/orgs/table.ts
 * creates local mode's table, shared/events and shared/automations are the worker's adapters,
 * shared/reports the reporter's (the CLI invokes the reporter function instead).
 */
const OPERATOR_CODE = [
  /^bin\//,
  /^shared\/orgs\/(?!table\.ts)/,
  /^shared\/tokens\/store\.ts$/,
  /^shared\/dlq\//,
];

/** SDK command → the IAM actions it needs (our code's calls: CreateSecret always tags). */
function iamActions(module: string, command: string): string[] {
  const name = command.replace(/Command$/, '');
  if (module === '@aws-sdk/lib-dynamodb' || module === '@aws-sdk/client-dynamodb') {
    const item: Record<string, string[]> = {
      Get: ['GetItem'],
      Put: ['PutItem'],
      Update: ['UpdateItem'],
      Delete: ['DeleteItem'],
      Query: ['Query'],
      Scan: ['Scan'],
      BatchGet: ['BatchGetItem'],
      BatchWrite: ['BatchWriteItem'],
      // a transaction is authorized action by action: the CLI's (putRule) checks and puts
      TransactWrite: ['ConditionCheckItem', 'PutItem'],
    };
    return (item[name] ?? [name]).map((action) => `dynamodb:${action}`);
  }
  if (module === '@aws-sdk/client-secrets-manager') {
    return name === 'CreateSecret'
      ? ['secretsmanager:CreateSecret', 'secretsmanager:TagResource']
      : [`secretsmanager:${name}`];
  }
  if (module === '@aws-sdk/client-sqs') return [`sqs:${name.replace(/Batch$/, '')}`];
  if (module === '@aws-sdk/client-lambda')
    return [name === 'Invoke' ? 'lambda:InvokeFunction' : `lambda:${name}`];
  if (module === '@aws-sdk/client-cloudformation') return [`cloudformation:${name}`];
  if (module === '@aws-sdk/client-s3') {
    return [name === 'ListObjectsV2' ? 's3:ListBucket' : `s3:${name}`];
  }
  // who runs a replay: GetCallerIdentity needs no permission
  if (module === '@aws-sdk/client-sts' && name === 'GetCallerIdentity') return [];
  throw new Error(`no IAM mapping for ${module} ${command}`);
}

/** SDK commands the operator code constructs: `module command` → files. */
function operatorCommands(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of reachableFiles(resolve(REPO_ROOT, 'bin/tallyfy-serverless.ts'))) {
    const path = relative(REPO_ROOT, file);
    if (!OPERATOR_CODE.some((pattern) => pattern.test(path))) continue;
    const source = stripComments(readFileSync(file, 'utf8'));
    for (const match of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/[^']+)'/g)) {
      for (const imported of (match[1] as string).split(',')) {
        const name = imported.trim().replace(/^type\s+/, '');
        if (!name.endsWith('Command') || !new RegExp(`new ${name}\\(`).test(source)) continue;
        const key = `${match[2]} ${name}`;
        found.set(key, [...(found.get(key) ?? []), path]);
      }
    }
  }
  return found;
}

const app = newApp();
const stack = new Stack(app, 'Ops', { env: TEST_ENV });
const integration = new TallyfyIntegration(stack, 'Tallyfy', {
  encryptionKey: Key.fromKeyArn(stack, 'Key', KEY_ARN),
});
const operators = new Role(stack, 'Operators', { assumedBy: new AccountRootPrincipal() });
integration.grantOperator(operators);
const template = Template.fromStack(stack);
const statements = Object.values(template.findResources('AWS::IAM::Policy'))
  .filter((p) =>
    p.Properties.Roles.some(
      (r: { Ref: string }) => r.Ref === stack.getLogicalId(operators.node.defaultChild as never),
    ),
  )
  .flatMap((p) => p.Properties.PolicyDocument.Statement as PolicyStatementJson[]);
const resourcesOf = (action: string) =>
  JSON.stringify(
    statements.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource),
  );
const id = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('TallyfyIntegration.grantOperator', () => {
  const commands = operatorCommands();

  test('the operator policy is cdk-nag clean (its bounded wildcards acknowledged on the role)', () => {
    expect(() => app.synth()).not.toThrow();
  });

  test('the operator code is found, with the calls the CLI is known to make', () => {
    expect([...commands.keys()]).toEqual(
      expect.arrayContaining([
        '@aws-sdk/client-cloudformation DescribeStacksCommand',
        '@aws-sdk/client-lambda InvokeCommand',
        '@aws-sdk/client-secrets-manager CreateSecretCommand',
        '@aws-sdk/client-sqs ReceiveMessageCommand',
        '@aws-sdk/lib-dynamodb TransactWriteCommand',
      ]),
    );
  });

  test('every AWS call of the operator code is granted, on the resource it touches', () => {
    const where: Record<string, string> = {
      dynamodb: `"${ORGS_TABLE_LOGICAL_ID}"`,
      secretsmanager: 'tallyfy-serverless/Ops/orgs/*',
      lambda: id(integration.refresher.fn.function),
      cloudformation: 'stack/Ops/*',
    };
    for (const [key, files] of commands) {
      const [module, command] = key.split(' ') as [string, string];
      for (const action of iamActions(module, command)) {
        const resources = resourcesOf(action);
        expect(resources, `${action} (${command} in ${files.join(', ')})`).not.toBe('[]');
        const service = action.split(':')[0] as string;
        if (where[service] !== undefined) expect(resources, action).toContain(where[service]);
      }
    }
    // dead letters are read from the DLQ and re-sent to the events queue
    expect(resourcesOf('sqs:ReceiveMessage')).toContain(id(integration.events.deadLetterQueue));
    expect(resourcesOf('sqs:DeleteMessage')).toContain(id(integration.events.deadLetterQueue));
    expect(resourcesOf('sqs:SendMessage')).toContain(id(integration.events.queue));
    expect(resourcesOf('sqs:SendMessage')).not.toContain(id(integration.events.deadLetterQueue));
  });

  test('the console can read org items and reports, and invoke the reconciler and reporter', () => {
    expect(resourcesOf('dynamodb:Query')).toContain('/index/byKind');
    expect(resourcesOf('s3:GetObject')).toContain('/reports/*');
    expect(resourcesOf('s3:ListBucket')).toContain(id(integration.storage.reportsBucket));
    expect(resourcesOf('s3:GetObject')).toContain('/webhooks/*');
    expect(resourcesOf('s3:ListBucket')).toContain(id(integration.storage.archiveBucket));
    expect(resourcesOf('sqs:GetQueueAttributes')).toContain(id(integration.events.deadLetterQueue));
    for (const fn of [integration.refresher, integration.reconciler, integration.reporter]) {
      expect(resourcesOf('lambda:InvokeFunction')).toContain(id(fn.fn.function));
    }
  });

  test('no wildcard action or resource, no Scan, the key only through the services used', () => {
    for (const statement of statements) {
      expect([statement.Resource].flat()).not.toContain('*');
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      if ([statement.Action].flat().some((a) => a.startsWith('kms:'))) {
        expect(JSON.stringify(statement.Condition)).toMatch(
          /"kms:ViaService":"(secretsmanager|dynamodb|sqs|s3)\.eu-west-1\.amazonaws\.com"/,
        );
      }
    }
    expect(resourcesOf('dynamodb:Scan')).toBe('[]');
    expect(resourcesOf('secretsmanager:GetSecretValue')).not.toContain('automations');
  });
});
