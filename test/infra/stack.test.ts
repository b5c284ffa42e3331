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
const dlqId = resources[queueId]?.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
const failedInvocationsId = Object.keys(resources).find(
  (id) => resources[id]?.Type === 'AWS::SQS::Queue' && id !== queueId && id !== dlqId,
) as string;

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
        POWERTOOLS_METRICS_NAMESPACE: 'TallyfyServerless/Prod',
        TALLYFY_BASE_URL: 'https://go.tallyfy.com/api',
        // Tallyfy's token host, not the API's: derived from the API root by default
        TALLYFY_TOKEN_URL: 'https://account.tallyfy.com/oauth/token',
      });
    }
  });

  test('each part gets exactly the resources it uses, as environment variables', () => {
    const bound = (part: TallyfyPart) =>
      Object.keys(env(part))
        .filter(
          (name) =>
            !/^(POWERTOOLS_|LOG_LEVEL|NODE_OPTIONS|TALLYFY_BASE_URL|TALLYFY_TOKEN_URL)/.test(name),
        )
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

  /** A part's DynamoDB statements as `actions @ resource [leading keys]`, sorted. */
  const tableGrants = (part: TallyfyPart) =>
    statementsOf(part)
      .filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')))
      .flatMap((st) =>
        [st.Resource].flat().map((resource) => {
          const index = /\/index\/(\w+)/.exec(JSON.stringify(resource))?.[1];
          const keys = (st.Condition as Record<string, Record<string, string[]>> | undefined)?.[
            'ForAllValues:StringLike'
          ]?.['dynamodb:LeadingKeys'];
          const where = index === undefined ? 'table' : `index/${index}`;
          return `${actionsOf(st)
            .map((a) => a.replace('dynamodb:', ''))
            .sort()
            .join(',')} @ ${where}${keys ? ` [${keys.join(',')}]` : ''}`;
        }),
      )
      .sort();

  test('per role, exactly the DynamoDB actions its code calls, on the keys and indexes it names', () => {
    expect(tableGrants('webhook-receiver')).toEqual([
      'GetItem @ table [ORG#*]', // findWebhookAuth
      'PutItem @ table [EVENT#*]', // one seen marker per queued webhook
    ]);
    expect(tableGrants('event-worker')).toEqual([
      'DeleteItem,GetItem,PutItem,UpdateItem @ table [EVENT#*]', // claim, status, action records
      'GetItem,Query @ table [ORG#*]', // the org and its rules
    ]);
    expect(tableGrants('reconciler')).toEqual([
      'BatchGetItem,BatchWriteItem,PutItem @ table [EVENT#*]', // seen markers and claims, read together
      'GetItem,UpdateItem @ table [ORG#*]', // org, watermarks, run cursor
      'Query @ index/byKind', // active orgs
    ]);
    expect(tableGrants('token-refresher')).toEqual([
      'GetItem,UpdateItem @ table [ORG#*]', // lease, fenced records, re-read
      'Query @ index/byKind', // the OrgsNeedingReauth gauge
      'Query @ index/byRefreshDue', // due orgs
    ]);
    expect(tableGrants('reporter')).toEqual([
      'GetItem,UpdateItem @ table [ORG#*]', // orgs, and its deferred periods (STATE#reporter)
      'Query @ index/byKind',
      'Scan @ table', // event figures (claims), read only
    ]);
  });

  test('no role may delete or batch-write on the table except where its code does', () => {
    for (const part of TALLYFY_PARTS) {
      const actions = statementsOf(part).flatMap(actionsOf);
      expect(actions.includes('dynamodb:BatchWriteItem'), part).toBe(part === 'reconciler');
      expect(actions.includes('dynamodb:DeleteItem'), part).toBe(part === 'event-worker');
      expect(actions, part).not.toContain('dynamodb:DescribeTable');
      expect(JSON.stringify(statementsOf(part)), part).not.toContain('index/*');
    }
  });

  test('the receiver writes webhooks/ in the archive and sends to the queue: nothing else', () => {
    expect([...actions('webhook-receiver')].sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:PutObject',
      'sqs:SendMessage',
    ]);
    const put = statementsOf('webhook-receiver').find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain('/webhooks/*');
  });

  test('the reporter writes only under reports/, and in the table only its state beside orgs', () => {
    const put = statementsOf('reporter').find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain('/reports/*');
    expect(
      [...actions('reporter')].filter((a) => /dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)),
    ).toEqual(['dynamodb:UpdateItem']);
    const update = statementsOf('reporter').find((s) =>
      actionsOf(s).includes('dynamodb:UpdateItem'),
    );
    expect(update?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORG#*'] },
    });
  });

  test('the worker may invoke the refresher, send to the DLQ, and send deferred messages back to its own queue', () => {
    const invoke = statementsOf('event-worker').find((s) =>
      actionsOf(s).includes('lambda:InvokeFunction'),
    );
    expect(invoke?.Resource).toEqual({ 'Fn::GetAtt': [functionIds['token-refresher'], 'Arn'] });
    const sends = statementsOf('event-worker').filter((s) =>
      actionsOf(s).includes('sqs:SendMessage'),
    );
    // the DLQ (permanent failures), and the events queue (a long Retry-After, deferred)
    expect(sends.flatMap((s) => [s.Resource].flat())).toEqual([
      { 'Fn::GetAtt': [dlqId, 'Arn'] },
      { 'Fn::GetAtt': [queueId, 'Arn'] },
    ]);
    const consume = statementsOf('event-worker').find((s) =>
      actionsOf(s).includes('sqs:ReceiveMessage'),
    );
    expect(consume).toMatchObject({
      Action: [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ],
      Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });

  test('the scheduled functions may send their failed invocations to the failure queue; nobody else', () => {
    const sendsToFailures = (part: TallyfyPart) =>
      statementsOf(part).some(
        (s) =>
          actionsOf(s).includes('sqs:SendMessage') &&
          JSON.stringify(s.Resource).includes(`"${failedInvocationsId}"`),
      );
    for (const part of TALLYFY_PARTS) {
      expect(sendsToFailures(part), part).toBe(
        ['token-refresher', 'reconciler', 'reporter'].includes(part),
      );
    }
  });

  test('reconciler and reporter may ask the refresher for a refresh; the receiver may not', () => {
    for (const part of ['reconciler', 'reporter'] as const) {
      expect(actions(part).has('lambda:InvokeFunction')).toBe(true);
    }
    expect(actions('webhook-receiver').has('lambda:InvokeFunction')).toBe(false);
    expect(actions('token-refresher').has('lambda:InvokeFunction')).toBe(false);
  });
});

describe('TallyfyStack: events queue, worker, concurrency, failed invocations', () => {
  test('the worker consumes the events queue with partial batch failures, at most 50 at once', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(functionIds['event-worker']),
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    expect(fn('event-worker').ReservedConcurrentExecutions).toBeUndefined();
  });

  test('the refresher has reserved concurrency of its own; the receiver is never capped', () => {
    expect(fn('token-refresher').ReservedConcurrentExecutions).toBe(5);
    expect(fn('webhook-receiver').ReservedConcurrentExecutions).toBeUndefined();
  });

  test('scheduled functions send failed asynchronous invocations to the failure queue; the reporter is not retried', () => {
    const configs = Object.values(resources).filter(
      (r) => r.Type === 'AWS::Lambda::EventInvokeConfig',
    );
    const byFunction = Object.fromEntries(
      configs.map((c) => [c.Properties.FunctionName.Ref, c.Properties]),
    );
    expect(Object.keys(byFunction).sort()).toEqual(
      [functionIds['token-refresher'], functionIds.reconciler, functionIds.reporter].sort(),
    );
    for (const part of ['token-refresher', 'reconciler', 'reporter'] as const) {
      expect(byFunction[functionIds[part]]).toMatchObject({
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [failedInvocationsId, 'Arn'] } },
        },
        MaximumRetryAttempts: part === 'reporter' ? 0 : 2,
      });
    }
    expect(resources[failedInvocationsId]?.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
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

  test('the stage is throttled above legitimate bursts (1,000/s, 2,000 at once)', () => {
    expect(stage).toMatchObject({
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
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

  const NS = 'TallyfyServerless/Prod';
  const service = (name: string) => [{ Name: 'service', Value: name }];
  /** What each alarm of the runbook reads, how it compares, and what missing data counts as. */
  const RUNBOOK: Array<[string, Record<string, unknown>]> = [
    [
      'DeadLetters',
      {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'FailedInvocations',
      {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [failedInvocationsId, 'QueueName'] } },
        ],
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'TokenRefresherFailuresAlarm',
      {
        Namespace: NS,
        MetricName: 'TokenRefreshFailed',
        Dimensions: service('token-refresher'),
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'TokenRefresherHeartbeatAlarm',
      {
        Namespace: NS,
        MetricName: 'RefreshRuns',
        Dimensions: service('token-refresher'),
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 2,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      },
    ],
    [
      'TokenRefresherNeedsReauthAlarm',
      {
        Namespace: NS,
        MetricName: 'OrgsNeedingReauth',
        Dimensions: service('token-refresher'),
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'ignore',
      },
    ],
    [
      'TokenRefresherSoonestExpiryAlarm',
      {
        Namespace: NS,
        MetricName: 'SoonestTokenExpiry',
        Statistic: 'Minimum',
        Threshold: 450,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'WebhookReceiverServerErrorsAlarm',
      {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5xx',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'WebhookReceiverThrottledAlarm',
      {
        Namespace: NS,
        MetricName: 'WebhooksThrottled',
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'EventWorkerBacklogAlarm',
      {
        MetricName: 'ApproximateAgeOfOldestMessage',
        Threshold: 900,
        EvaluationPeriods: 3,
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'ReconcilerRecoveriesAlarm',
      {
        Namespace: NS,
        MetricName: 'EventsRecovered',
        Dimensions: service('reconciler'),
        Statistic: 'Sum',
        Period: 3600,
        Threshold: 10,
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'ReconcilerRescuesAlarm',
      {
        Namespace: NS,
        MetricName: 'EventsRescued',
        Dimensions: service('reconciler'),
        Statistic: 'Sum',
        Period: 3600,
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
    ],
    [
      'ReconcilerFailuresAlarm',
      {
        Namespace: NS,
        MetricName: 'ReconcileFailures',
        Dimensions: service('reconciler'),
        Statistic: 'Sum',
        Period: 900,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
    ],
    ['ReporterFailuresAlarm', { Threshold: 0, TreatMissingData: 'notBreaching' }],
  ];
  const alarmIds = Object.keys(resources).filter(
    (id) => resources[id]?.Type === 'AWS::CloudWatch::Alarm',
  );
  const alarmNamed = (name: string) => {
    const ids = alarmIds.filter((id) => id.replace(/^Tallyfy(Alarms)?/, '').startsWith(name));
    expect(ids, name).toHaveLength(1);
    return resources[ids[0] as string]?.Properties;
  };

  test('every alarm of the runbook reads its metric, with its threshold and missing-data rule', () => {
    for (const [name, properties] of RUNBOOK) {
      expect(alarmNamed(name), name).toMatchObject(properties);
    }
    expect(String(alarmNamed('ReporterFailuresAlarm')?.Metrics[0].Expression)).toBe(
      `SELECT SUM(ReportsFailed) FROM SCHEMA("${NS}", orgId, service) WHERE service = 'reporter'`,
    );
    // plus one errors alarm per function (worker errors among them)
    const errors = byMetric('Errors').map((a) => a.Properties.Dimensions[0].Value.Ref);
    expect(errors.sort()).toEqual(Object.values(functionIds).sort());
    expect(alarms).toHaveLength(RUNBOOK.length + 5);
  });

  test('every alarm notifies the alarm topic on ALARM and on OK, and names its runbook section', () => {
    const topic = idOf('AWS::SNS::Topic');
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([ref(topic)]);
      expect(alarm.Properties.OKActions).toEqual([ref(topic)]);
      expect(alarm.Properties.AlarmDescription).toMatch(/docs\/operations\.md#/);
    }
  });

  test('the metrics namespace comes from the stack: two stacks of one app never share one', () => {
    const staging = Template.fromStack(new TallyfyStack(newApp(), 'Staging', { env: TEST_ENV }));
    const namespaces = (t: Template) =>
      new Set(
        Object.values(t.findResources('AWS::Lambda::Function')).map(
          (f) => f.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
        ),
      );
    expect([...namespaces(template)]).toEqual([NS]);
    expect([...namespaces(staging)]).toEqual(['TallyfyServerless/Staging']);
    const alarmNamespaces = Object.values(staging.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties.Namespace)
      .filter((n) => n !== undefined && !String(n).startsWith('AWS/'));
    expect(new Set(alarmNamespaces)).toEqual(new Set(['TallyfyServerless/Staging']));
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
      'RefreshRuns',
      'OrgsNeedingReauth',
      'EventsRecovered',
      'ReconcileFailures',
      'ReportsFailed',
      'WebhooksThrottled',
      'Failed asynchronous invocations',
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
