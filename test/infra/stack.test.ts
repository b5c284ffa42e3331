/**
 * The deployed stack as a whole (no bundling here: test/infra/bundles.test.ts bundles once):
 * every part wired with least privilege, the IAM split of the secrets across every role, the
 * HTTP API, schedules, alarms, dashboard and outputs.
 */
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, test } from 'vitest';
import {
  ACCESS_LOG_FIELDS,
  FUNCTION_RUNTIME,
  STACK_OUTPUTS,
  TALLYFY_PARTS,
  type TallyfyPart,
  TallyfyStack,
} from '../../infra/index.ts';
import { readSettings, stackPropsFromSettings } from '../../infra/settings.ts';
import {
  iamPatternMatches,
  newApp,
  type PolicyStatementJson,
  resolveArn,
  TEST_ENV,
} from './support.ts';

const app = newApp();
const stack = new TallyfyStack(app, 'Prod', { env: TEST_ENV });
// synth runs cdk-nag: an unacknowledged finding throws here and fails every test below
const assembly = app.synth();
const template = Template.fromJSON(assembly.getStackByName('Prod').template);
/** The template's resources (CloudFormation JSON, untyped as `findResources` returns it). */
const resources = template.toJSON().Resources as ReturnType<Template['findResources']>;
const PREFIX = 'tallyfy-serverless/Prod';

/** Logical id of each part's function, found by its POWERTOOLS_SERVICE_NAME. */
const functionIds = Object.fromEntries(
  Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([id, r]) => [r.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME, id]),
) as Record<TallyfyPart, string>;

const fn = (part: TallyfyPart) => resources[functionIds[part]]?.Properties ?? {};
const env = (part: TallyfyPart) => fn(part).Environment.Variables as Record<string, unknown>;
const roleId = (part: TallyfyPart) => fn(part).Role['Fn::GetAtt'][0] as string;

/** Every statement of the policies attached to a part's role. */
function statementsOf(part: TallyfyPart): PolicyStatementJson[] {
  return Object.values(resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        r.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId(part)),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement as PolicyStatementJson[]);
}

const actionsOf = (s: PolicyStatementJson) => [s.Action].flat();
const ref = (id: string) => ({ Ref: id });
const idOf = (
  type: string,
  predicate: (properties: ReturnType<Template['findResources']>[string]) => boolean = () => true,
) => {
  const found = Object.entries(resources).find(
    ([, r]) => r.Type === type && predicate(r.Properties),
  );
  if (!found) throw new Error(`no ${type}`);
  return found[0];
};
const queueId = idOf('AWS::SQS::Queue', (p) => p.RedrivePolicy !== undefined);
const dlqId = idOf('AWS::SQS::Queue', (p) => p.RedrivePolicy === undefined);

/** Secret ARNs as Secrets Manager names them, for org ids a customer could choose. */
const ORG_IDS = ['acme', 'a1b2c3d4', 'x/token-y', 'token', 'org/credentials', '-', 'a.b@c'];
const secretArn = (orgId: string, kind: 'credentials' | 'token') =>
  `arn:aws:secretsmanager:${TEST_ENV.region}:${TEST_ENV.account}:secret:${PREFIX}/orgs/${orgId}/${kind}-AbC123`;

describe('TallyfyStack: functions', () => {
  test('all five parts are deployed, each its own function and role', () => {
    expect(Object.keys(functionIds).sort()).toEqual([...TALLYFY_PARTS].sort());
    expect(new Set(TALLYFY_PARTS.map(roleId)).size).toBe(5);
  });

  test('every function is ARM64 on the newest Node runtime, with source maps enabled', () => {
    const newest = Math.max(
      ...Runtime.ALL.filter((r) => /^nodejs\d+\.x$/.test(r.name)).map((r) =>
        Number(r.name.replace(/\D/g, '')),
      ),
    );
    expect(FUNCTION_RUNTIME.name).toBe(`nodejs${newest}.x`);
    for (const part of TALLYFY_PARTS) {
      expect(fn(part)).toMatchObject({
        Architectures: ['arm64'],
        Runtime: `nodejs${newest}.x`,
        Handler: 'index.handler',
      });
      // source maps are applied when a stack is printed, not parsed at every cold start
      expect(env(part).NODE_OPTIONS ?? '').not.toContain('--enable-source-maps');
      expect(env(part)).toMatchObject({
        POWERTOOLS_SERVICE_NAME: part,
        POWERTOOLS_METRICS_NAMESPACE: 'TallyfyServerless',
        TALLYFY_BASE_URL: 'https://go.tallyfy.com/api',
      });
    }
  });

  test('each part gets exactly the resources it uses, as environment variables', () => {
    const bound = (part: TallyfyPart) =>
      Object.keys(env(part))
        .filter((name) => !/^(POWERTOOLS_|LOG_LEVEL|NODE_OPTIONS|TALLYFY_BASE_URL)/.test(name))
        .sort();
    expect(bound('token-refresher')).toEqual([
      'ORGS_TABLE',
      'REFRESH_MARGIN_FRACTION',
      'REFRESH_MARGIN_MIN_SECONDS',
      'REFRESH_SHARD_COUNT',
      'SECRET_PREFIX',
    ]);
    expect(bound('webhook-receiver')).toEqual([
      'ARCHIVE_BUCKET',
      'EVENTS_QUEUE_URL',
      'ORGS_TABLE',
      'REFRESH_SHARD_COUNT',
    ]);
    expect(bound('event-worker')).toEqual([
      'ARCHIVE_BUCKET',
      'EVENTS_DLQ_URL',
      'EVENT_BUS_NAME',
      'ORGS_TABLE',
      'REFRESH_REQUESTS',
      'REFRESH_SHARD_COUNT',
      'SECRET_PREFIX',
    ]);
    expect(bound('reconciler')).toEqual([
      'EVENTS_QUEUE_URL',
      'ORGS_TABLE',
      'REFRESH_REQUESTS',
      'REFRESH_SHARD_COUNT',
      'SECRET_PREFIX',
    ]);
    expect(bound('reporter')).toEqual([
      'ORGS_TABLE',
      'REFRESH_REQUESTS',
      'REFRESH_SHARD_COUNT',
      'REPORTS_BUCKET',
      'SECRET_PREFIX',
    ]);
    expect(env('event-worker').REFRESH_REQUESTS).toEqual(ref(functionIds['token-refresher']));
    expect(env('event-worker').EVENTS_DLQ_URL).toEqual(ref(dlqId));
    expect(env('reconciler').EVENTS_QUEUE_URL).toEqual(ref(queueId));
  });

  test('timeouts: receiver 10 s, worker 2 min, refresher 2 min, reconciler 5 min, reporter 15 min with 512 MiB and a heap cap', () => {
    expect(fn('webhook-receiver').Timeout).toBe(10);
    expect(fn('event-worker').Timeout).toBe(120);
    expect(fn('token-refresher').Timeout).toBe(120);
    expect(fn('reconciler').Timeout).toBe(300);
    expect(fn('reporter')).toMatchObject({ Timeout: 900, MemorySize: 512 });
    expect(fn('reporter').Environment.Variables.NODE_OPTIONS).toContain('--max-old-space-size=128');
  });
});

describe('TallyfyStack: IAM split of the org secrets', () => {
  const secretStatements = (part: TallyfyPart) =>
    statementsOf(part).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('secretsmanager:') || a === '*'),
    );
  const patterns = (part: TallyfyPart) =>
    secretStatements(part).flatMap((s) => [s.Resource].flat().map((r) => resolveArn(stack, r)));

  test('only the refresher may read or write credentials secrets', () => {
    expect(patterns('token-refresher')).toEqual([
      `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${PREFIX}/orgs/*`,
    ]);
    for (const orgId of ORG_IDS) {
      expect(
        iamPatternMatches(patterns('token-refresher')[0] ?? '', secretArn(orgId, 'credentials')),
      ).toBe(true);
    }
  });

  test('no reader role can read a credentials secret; each can read token secrets', () => {
    for (const part of ['event-worker', 'reconciler', 'reporter'] as const) {
      expect([...new Set(secretStatements(part).flatMap(actionsOf))].sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      for (const orgId of ORG_IDS) {
        const matches = (arn: string) => patterns(part).some((p) => iamPatternMatches(p, arn));
        expect(matches(secretArn(orgId, 'credentials')), `${part} / ${orgId}`).toBe(false);
        expect(matches(secretArn(orgId, 'token')), `${part} / ${orgId}`).toBe(true);
      }
    }
  });

  test('besides tokens, the worker reads only automation signing keys, outside orgs/', () => {
    const others = patterns('event-worker').filter((p) => !p.endsWith('/token-??????'));
    expect(others).toEqual([
      `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${PREFIX}/automations/*`,
    ]);
    expect(patterns('reconciler').every((p) => p.endsWith('/token-??????'))).toBe(true);
    expect(patterns('reporter').every((p) => p.endsWith('/token-??????'))).toBe(true);
  });

  test('the receiver has no access to any secret', () => {
    expect(secretStatements('webhook-receiver')).toEqual([]);
  });

  test('no statement of any role grants an action on every resource', () => {
    for (const part of TALLYFY_PARTS) {
      for (const statement of statementsOf(part)) {
        expect([statement.Resource].flat(), part).not.toContain('*');
        for (const action of actionsOf(statement)) expect(action, part).not.toMatch(/(^\*$|:\*$)/);
      }
    }
  });
});

describe('TallyfyStack: least privilege per part', () => {
  const actions = (part: TallyfyPart) => new Set(statementsOf(part).flatMap(actionsOf));

  test('the receiver uses the table, writes webhooks/ in the archive, sends to the queue: nothing else', () => {
    expect([...actions('webhook-receiver')].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:PutObject',
      'sqs:GetQueueAttributes',
      'sqs:SendMessage',
    ]);
    const put = statementsOf('webhook-receiver').find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain('/webhooks/*');
  });

  test('the reporter writes only under reports/ and never writes the table', () => {
    const put = statementsOf('reporter').find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain('/reports/*');
    expect(
      [...actions('reporter')].filter((a) => /dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)),
    ).toEqual([]);
  });

  test('the worker may invoke the refresher and send to the DLQ, but not to the events queue', () => {
    const invoke = statementsOf('event-worker').find((s) =>
      actionsOf(s).includes('lambda:InvokeFunction'),
    );
    expect(invoke?.Resource).toEqual({ 'Fn::GetAtt': [functionIds['token-refresher'], 'Arn'] });
    const sends = statementsOf('event-worker').filter((s) =>
      actionsOf(s).includes('sqs:SendMessage'),
    );
    expect(sends.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [dlqId, 'Arn'] }]);
  });

  test('reconciler and reporter may ask the refresher for a refresh; the receiver may not', () => {
    for (const part of ['reconciler', 'reporter'] as const) {
      expect(actions(part).has('lambda:InvokeFunction')).toBe(true);
    }
    expect(actions('webhook-receiver').has('lambda:InvokeFunction')).toBe(false);
    expect(actions('token-refresher').has('lambda:InvokeFunction')).toBe(false);
  });
});

describe('TallyfyStack: events queue and worker', () => {
  test('the worker consumes the events queue with partial batch failure reporting', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(functionIds['event-worker']),
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
  });

  test('the queue redrives to the DLQ after 5 receives, with visibility >= 6x the worker timeout', () => {
    const queue = resources[queueId]?.Properties ?? {};
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn('event-worker').Timeout);
    for (const id of [queueId, dlqId]) {
      expect(resources[id]?.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });
});

describe('TallyfyStack: webhook HTTP API', () => {
  const stage = resources[idOf('AWS::ApiGatewayV2::Stage')]?.Properties ?? {};

  test('one route, POST /hooks/{orgId}/{secret}, proxied to the receiver', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /hooks/{orgId}/{secret}',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [functionIds['webhook-receiver'], 'Arn'] },
    });
  });

  test('the stage is throttled', () => {
    expect(stage).toMatchObject({
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  test('access logs record the route template, never the path that holds the secret', () => {
    const format = stage.AccessLogSettings.Format as string;
    expect(JSON.parse(format)).toEqual(ACCESS_LOG_FIELDS);
    expect(format).toContain('$context.routeKey');
    for (const leaky of ['$context.path', 'requestUri', 'pathParameters', 'rawPath']) {
      expect(format).not.toContain(leaky);
    }
    expect(stage.AccessLogSettings.DestinationArn['Fn::GetAtt'][1]).toBe('Arn');
  });
});

describe('TallyfyStack: schedules', () => {
  const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
  const scheduleOf = (part: TallyfyPart) =>
    rules.find((r) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] === functionIds[part])
      ?.Properties.ScheduleExpression;

  test('refresher every 5 minutes, reconciler every 15, reporter daily at 06:00 UTC', () => {
    expect(rules).toHaveLength(3);
    expect(scheduleOf('token-refresher')).toBe('rate(5 minutes)');
    expect(scheduleOf('reconciler')).toBe('rate(15 minutes)');
    expect(scheduleOf('reporter')).toBe('cron(0 6 * * ? *)');
  });

  test('schedules come from context settings', () => {
    const custom = newApp({
      context: {
        'tallyfy:refreshIntervalMinutes': 2,
        'tallyfy:reconcileIntervalMinutes': 60,
        'tallyfy:reportHourUtc': 23,
      },
    });
    const s = new TallyfyStack(custom, 'Custom', {
      ...stackPropsFromSettings(readSettings(custom.node)),
      env: TEST_ENV,
    });
    const expressions = Object.values(Template.fromStack(s).findResources('AWS::Events::Rule')).map(
      (r) => r.Properties.ScheduleExpression,
    );
    expect(expressions.sort()).toEqual(['cron(0 23 * * ? *)', 'rate(1 hour)', 'rate(2 minutes)']);
  });
});

describe('TallyfyStack: alarms and dashboard', () => {
  const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  const byMetric = (name: string) =>
    alarms.filter(
      (a) =>
        a.Properties.MetricName === name ||
        String(a.Properties.Metrics?.[0]?.Expression ?? '').includes(`SUM(${name})`),
    );

  test('every alarm of the runbook exists, on the metric the functions emit', () => {
    const expected: Array<[string, Record<string, unknown>]> = [
      [
        'ApproximateNumberOfMessagesVisible',
        { Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' },
      ],
      [
        'TokenRefreshFailed',
        {
          Namespace: 'TallyfyServerless',
          Dimensions: [{ Name: 'service', Value: 'token-refresher' }],
        },
      ],
      ['OrgsNeedingReauth', { Statistic: 'Maximum', Threshold: 0 }],
      [
        'SoonestTokenExpiry',
        { Statistic: 'Minimum', Threshold: 450, ComparisonOperator: 'LessThanThreshold' },
      ],
      ['5xx', { Threshold: 0 }],
      [
        'EventsReconciled',
        { Threshold: 10, Period: 3600, Dimensions: [{ Name: 'service', Value: 'reconciler' }] },
      ],
      ['ReportsFailed', { Threshold: 0 }],
      ['ApproximateAgeOfOldestMessage', { Threshold: 900 }],
    ];
    for (const [metric, properties] of expected) {
      const found = byMetric(metric);
      expect(found, metric).toHaveLength(1);
      expect(found[0]?.Properties, metric).toMatchObject(properties);
    }
    // plus one errors alarm per function (worker errors among them)
    const errors = byMetric('Errors').map((a) => a.Properties.Dimensions[0].Value.Ref);
    expect(errors.sort()).toEqual(Object.values(functionIds).sort());
  });

  test('every alarm notifies the alarm topic on ALARM and on OK, and ignores missing data', () => {
    const topic = idOf('AWS::SNS::Topic');
    expect(alarms.length).toBe(8 + 5);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([ref(topic)]);
      expect(alarm.Properties.OKActions).toEqual([ref(topic)]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
      expect(alarm.Properties.AlarmDescription).toMatch(/docs\/operations\.md#/);
    }
  });

  test('every alarm links to its runbook section in docs/operations.md', () => {
    const runbook = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const anchors = new Set(
      [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        (m[1] ?? '')
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .trim()
          .replace(/ /g, '-'),
      ),
    );
    for (const alarm of alarms) {
      const anchor = /docs\/operations\.md#([a-z0-9-]+)/.exec(
        alarm.Properties.AlarmDescription,
      )?.[1];
      expect(anchors.has(anchor ?? ''), `${anchor} in docs/operations.md`).toBe(true);
    }
  });

  test('the dashboard shows each part and every alarm', () => {
    const body = JSON.stringify(
      resources[idOf('AWS::CloudWatch::Dashboard')]?.Properties.DashboardBody,
    );
    for (const text of [
      'Webhooks',
      'Queue and worker',
      'Tokens',
      'Reconciler',
      'WebhookAccepted',
      'EventsProcessed',
      'TokenRefreshFailed',
      'SoonestTokenExpiry',
      'EventsReconciled',
      'ReportsFailed',
      'TallyfyThrottled',
    ]) {
      expect(body, text).toContain(text);
    }
    // the alarm status widget lists every alarm
    const alarmIds = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([id]) => id);
    for (const id of alarmIds) expect(body, id).toContain(`"Fn::GetAtt":["${id}","Arn"]`);
  });
});

describe('TallyfyStack: outputs', () => {
  test('exactly the outputs the CLI reads, plus the alarm topic', () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(
      [...STACK_OUTPUTS, 'AlarmTopicArn'].sort(),
    );
    template.hasOutput('WebhookBaseUrl', {
      Value: {
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': [idOf('AWS::ApiGatewayV2::Api'), 'ApiEndpoint'] }, '/hooks'],
        ],
      },
    });
    template.hasOutput('TokenRefresherFunctionName', {
      Value: ref(functionIds['token-refresher']),
    });
    template.hasOutput('ReconcilerFunctionName', { Value: ref(functionIds.reconciler) });
    template.hasOutput('ReporterFunctionName', { Value: ref(functionIds.reporter) });
    template.hasOutput('DeadLetterQueueUrl', { Value: ref(dlqId) });
    template.hasOutput('SecretPrefix', { Value: PREFIX });
  });
});
