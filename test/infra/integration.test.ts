import { fileURLToPath } from 'node:url';
import { App, type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, test } from 'vitest';
import { ORGS_TABLE_READ_ONLY, TallyfyIntegration, TallyfyStack } from '../../infra/index.ts';
import { newApp, TEST_ENV } from './support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/handler.ts', import.meta.url));
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

describe('TallyfyIntegration', () => {
  test('the default stack synthesizes with zero unacknowledged cdk-nag findings', () => {
    const app = newApp();
    new TallyfyStack(app, 'Default');
    expect(() => app.synth()).not.toThrow();
  });

  test('an unacknowledged finding fails synth (the nag plugin is really on)', () => {
    const app = newApp();
    new Queue(new Stack(app, 'Careless'), 'PlainQueue');
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });

  test('a second app with every non-default prop synthesizes cdk-nag clean, and the props take effect', () => {
    const app = newApp();
    const stack = new Stack(app, 'CustomerApp', { env: TEST_ENV });
    const integration = new TallyfyIntegration(stack, 'Tallyfy', {
      encryptionKey: Key.fromKeyArn(stack, 'Key', KEY_ARN),
      secretPrefix: 'acme/tallyfy',
      tallyfyBaseUrl: 'https://tallyfy.acme.example/api/',
      tallyfyTokenUrl: 'https://auth.acme.example/oauth/token',
      tableName: 'acme-tallyfy-orgs',
      eventBusName: 'acme-tallyfy',
      archiveBucketName: 'acme-tallyfy-archive',
      reportsBucketName: 'acme-tallyfy-reports',
      removalPolicy: RemovalPolicy.DESTROY,
      logRetention: RetentionDays.THREE_MONTHS,
      logLevel: 'DEBUG',
      busArchiveRetentionDays: 14,
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:acme-ops',
      reservedConcurrency: { 'token-refresher': 2, 'event-worker': 20 },
      refreshMargin: { minSeconds: 600, fraction: 0.25 },
      schedules: { refreshIntervalMinutes: 2, reconcileIntervalMinutes: 30, reportHourUtc: 22 },
      workerTimeout: Duration.seconds(45),
      webhookThrottle: { rateLimit: 5, burstLimit: 10 },
      alarmThresholds: {
        recoveredEventsPerHour: 3,
        soonestTokenExpirySeconds: 120,
        maxEventAge: Duration.minutes(5),
      },
      functionSizes: { reporter: { memorySize: 2048, timeout: Duration.minutes(10) } },
      dashboardName: 'acme-tallyfy',
    });
    // a customer function on the same core, next to the five parts
    integration
      .addFunction('Custom', { part: 'event-worker', entry: FIXTURE, environment: { EXTRA: '1' } })
      .bindTable(integration.orgs.table, ORGS_TABLE_READ_ONLY)
      .bindTokenSecrets(integration.secrets);
    expect(() => app.synth()).not.toThrow();

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'acme-tallyfy-orgs',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: KEY_ARN },
      DeletionProtectionEnabled: false,
    });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'acme-tallyfy' });
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-tallyfy-archive' });
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-tallyfy-reports' });
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: KEY_ARN,
      VisibilityTimeout: 6 * 45,
    });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map(
      (r) => r.Properties.ScheduleExpression,
    );
    expect(rules.sort()).toEqual(['cron(0 22 * * ? *)', 'rate(2 minutes)', 'rate(30 minutes)']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'acme-tallyfy' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 2,
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'token-refresher',
          LOG_LEVEL: 'DEBUG',
          TALLYFY_BASE_URL: 'https://tallyfy.acme.example/api',
          TALLYFY_TOKEN_URL: 'https://auth.acme.example/oauth/token',
          REFRESH_MARGIN_MIN_SECONDS: '600',
          REFRESH_MARGIN_FRACTION: '0.25',
          SECRET_PREFIX: 'acme/tallyfy',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 20,
      Timeout: 45,
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'event-worker' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 2048,
      Timeout: 600,
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'reporter' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EXTRA: '1' }) },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const threshold = (metric: string) =>
      alarms.find((a) => a.Properties.MetricName === metric)?.Properties.Threshold;
    expect(threshold('EventsRecovered')).toBe(3);
    expect(threshold('SoonestTokenExpiry')).toBe(120);
    expect(threshold('ApproximateAgeOfOldestMessage')).toBe(300);
    // DLQ + failed invocations + 11 part alarms + an errors alarm per function (5 + the custom one)
    expect(alarms).toHaveLength(2 + 11 + 6);
    // the worker's reservation caps what its queue drives, so no poll is throttled
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 20 },
    });
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([
        'arn:aws:sns:eu-west-1:123456789012:acme-ops',
      ]);
    }
  });

  test('the dead-letter alarm fires on the first message and notifies the alarm topic', () => {
    const template = Template.fromStack(new TallyfyStack(newApp(), 'Alarmed', { env: TEST_ENV }));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmsTopic') }],
    });
  });

  test('the stack outputs the names later tools need', () => {
    const template = Template.fromStack(new TallyfyStack(newApp(), 'Outputs', { env: TEST_ENV }));
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(
      [
        'AlarmTopicArn',
        'ArchiveBucketName',
        'DeadLetterQueueUrl',
        'EventBusName',
        'EventsQueueUrl',
        'OrgsTableName',
        'ReconcilerFunctionName',
        'ReportsBucketName',
        'ReporterFunctionName',
        'SecretPrefix',
        'TokenRefresherFunctionName',
        'WebhookBaseUrl',
      ].sort(),
    );
    template.hasOutput('SecretPrefix', { Value: 'tallyfy-serverless/Outputs' });
  });

  test('an existing alarm topic is used instead of a new one', () => {
    const app = newApp();
    const stack = new TallyfyStack(app, 'Existing', {
      env: TEST_ENV,
      integration: { alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'],
    });
  });

  test('invalid props are rejected naming the prop', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { reservedConcurrency: { 'event-worker': 1 } },
        /reservedConcurrency\.event-worker must be at least 2/,
      ],
      [{ metricsNamespace: 'AWS/Custom' }, /metricsNamespace must be a CloudWatch namespace/],
      [{ orgsTableLogicalId: 'orgs-table' }, /OrgsTable: logicalId must be letters and digits/],
      [{ refreshShardCount: 0 }, /refreshShardCount must be a whole number from 1 to 100/],
      [{ schedules: { reportHourUtc: 24 } }, /schedules\.reportHourUtc/],
      [{ refreshMargin: { fraction: 1 } }, /refreshMargin\.fraction/],
      [
        { reservedConcurrency: { 'token-refresh': 1 } },
        /reservedConcurrency has unknown part "token-refresh"/,
      ],
      [
        { tallyfyBaseUrl: 'https://user:pw@go.tallyfy.com/api' },
        /tallyfyBaseUrl must be an http\(s\) URL without credentials/,
      ],
      [
        { tallyfyBaseUrl: 'https://tallyfy.acme.example/api' },
        /tallyfyTokenUrl is required: tallyfyBaseUrl \(https:\/\/tallyfy\.acme\.example\) is not one of Tallyfy's API hosts/,
      ],
      [
        { tallyfyTokenUrl: 'https://user:pw@account.tallyfy.com/oauth/token' },
        /tallyfyTokenUrl must be an http\(s\) URL without credentials/,
      ],
      [{ alarmEmail: 'not-an-address' }, /AlarmTopic: email/],
      [{ logRetention: 42 }, /logRetention must be a RetentionDays value/],
      [
        { schedules: { refreshIntervalMinutes: 15 } },
        /refreshIntervalMinutes \(15 min\) must be shorter than refreshMargin\.minSeconds \(900 s\)/,
      ],
      [{ entries: { worker: 'x.ts' } }, /entries has unknown part "worker"/],
      [
        { functionSizes: { 'event-worker': { timeout: Duration.minutes(1) } } },
        /functionSizes\.event-worker\.timeout is not allowed; set workerTimeout/,
      ],
      [{ webhookThrottle: { rateLimit: 0 } }, /webhookThrottle\.rateLimit must be a whole number/],
      [
        { alarmThresholds: { soonestTokenExpirySeconds: 1000 } },
        /alarmThresholds\.soonestTokenExpirySeconds must be a whole number from 1 to 900/,
      ],
    ];
    for (const [props, message] of cases) {
      const stack = new Stack(new App(), 'Bad');
      expect(() => new TallyfyIntegration(stack, 'Tallyfy', props)).toThrow(message);
    }
  });

  test('a credential in a bad base URL never appears in the error', () => {
    const stack = new Stack(new App(), 'Bad');
    expect(
      () =>
        new TallyfyIntegration(stack, 'T', { tallyfyBaseUrl: 'ftp://user:hunter2@example.com' }),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
  });

  test('two integrations share a stack with their own names; without them construction fails naming the props', () => {
    const app = newApp();
    const stack = new Stack(app, 'Shared', { env: TEST_ENV });
    new TallyfyIntegration(stack, 'Tallyfy');
    new TallyfyIntegration(stack, 'TallyfyEu', {
      secretPrefix: 'acme/eu',
      metricsNamespace: 'Acme/TallyfyEu',
      orgsTableLogicalId: 'OrgsTableEu',
    });
    expect(() => app.synth()).not.toThrow();
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table')).sort()).toEqual([
      'OrgsTable',
      'OrgsTableEu',
    ]);
    const namespaces = new Set(
      Object.values(template.findResources('AWS::Lambda::Function')).map(
        (f) => f.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
      ),
    );
    expect(namespaces).toEqual(new Set(['TallyfyServerless/Shared', 'Acme/TallyfyEu']));

    const clash = new Stack(newApp(), 'Clash');
    new TallyfyIntegration(clash, 'First');
    expect(() => new TallyfyIntegration(clash, 'Second', { secretPrefix: 'acme/second' })).toThrow(
      /Clash\/Second is the second integration in stack Clash with metricsNamespace "TallyfyServerless\/Clash" \(already used by Clash\/First\), orgsTableLogicalId "OrgsTable" \(already used by Clash\/First\); give each integration of a stack its own secretPrefix, metricsNamespace and orgsTableLogicalId/,
    );
  });

  test('an alarm added after construction (addFunction, addAlarm) shows on the dashboard and notifies the topic', () => {
    const stack = new Stack(newApp(), 'Late', { env: TEST_ENV });
    const integration = new TallyfyIntegration(stack, 'Tallyfy');
    const late = integration.addFunction('Audit', { part: 'reporter', entry: FIXTURE });
    const custom = integration.addAlarm(
      integration
        .metricOrgsNeedingReauth()
        .createAlarm(stack, 'TooManyReauth', { threshold: 5, evaluationPeriods: 1 }),
    );
    const template = Template.fromStack(stack);
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties,
    );
    const lateId = stack.getLogicalId(
      late.node.findChild('ErrorsAlarm').node.defaultChild as CfnElement,
    );
    const customId = stack.getLogicalId(custom.node.defaultChild as CfnElement);
    expect(body).toContain(`"Fn::GetAtt":["${lateId}","Arn"]`);
    expect(body).toContain(`"Fn::GetAtt":["${customId}","Arn"]`);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OrgsNeedingReauth',
      Threshold: 5,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmsTopic') }],
    });
  });

  test('metric methods read what the functions emit, in the integration namespace', () => {
    const stack = new Stack(newApp(), 'Metrics', { env: TEST_ENV });
    const integration = new TallyfyIntegration(stack, 'Tallyfy', { metricsNamespace: 'Acme/Ops' });
    const resolved = (metric: {
      namespace: string;
      metricName: string;
      dimensions?: unknown;
      statistic: string;
      period: Duration;
    }) => ({
      namespace: metric.namespace,
      metricName: metric.metricName,
      dimensions: stack.resolve(metric.dimensions),
      statistic: metric.statistic,
      period: metric.period.toSeconds(),
    });
    expect(resolved(integration.metricEventsRecovered())).toEqual({
      namespace: 'Acme/Ops',
      metricName: 'EventsRecovered',
      dimensions: { service: 'reconciler' },
      statistic: 'Sum',
      period: 3600,
    });
    expect(resolved(integration.metricOrgsNeedingReauth())).toEqual({
      namespace: 'Acme/Ops',
      metricName: 'OrgsNeedingReauth',
      dimensions: { service: 'token-refresher' },
      statistic: 'Maximum',
      period: 300,
    });
    expect(resolved(integration.metricDeadLetters())).toMatchObject({
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: {
        QueueName: {
          'Fn::GetAtt': [
            stack.getLogicalId(integration.events.deadLetterQueue.node.defaultChild as CfnElement),
            'QueueName',
          ],
        },
      },
      statistic: 'Maximum',
    });
    expect(resolved(integration.metricWebhooksThrottled())).toMatchObject({
      namespace: 'Acme/Ops',
      metricName: 'WebhooksThrottled',
      statistic: 'Sum',
    });
  });

  test('with a customer key, the secrets the refresher and the CLI create are encrypted with it', () => {
    const template = Template.fromStack(
      new TallyfyStack(newApp(), 'KeyedSecrets', { env: TEST_ENV, encryptionKeyArn: KEY_ARN }),
    );
    const keyOf = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => [
      fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME,
      fn.Properties.Environment.Variables.SECRETS_KMS_KEY_ID,
    ]);
    // only the refresher creates secrets at run time (an org's token secret on its first write)
    expect(keyOf.filter(([, key]) => key !== undefined)).toEqual([['token-refresher', KEY_ARN]]);
    // the CLI (`orgs add --stack`) reads the key from the stack's outputs
    template.hasOutput('SecretsKmsKeyArn', { Value: KEY_ARN });
    expect(
      Template.fromStack(new TallyfyStack(newApp(), 'Unkeyed', { env: TEST_ENV })).toJSON().Outputs
        .SecretsKmsKeyArn,
    ).toBeUndefined();
  });

  test('with a customer key, each function may use it only through the services it calls (kms:ViaService)', () => {
    const stack = new TallyfyStack(newApp(), 'Keyed', {
      env: TEST_ENV,
      encryptionKeyArn: KEY_ARN,
    });
    const template = Template.fromStack(stack);
    const resources = template.toJSON().Resources as ReturnType<Template['findResources']>;
    const roleOf = (part: string) =>
      Object.values(resources).find(
        (r) =>
          r.Type === 'AWS::Lambda::Function' &&
          r.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === part,
      )?.Properties.Role['Fn::GetAtt'][0];
    const kmsOf = (part: string) =>
      Object.values(resources)
        .filter(
          (r) =>
            r.Type === 'AWS::IAM::Policy' &&
            r.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleOf(part)),
        )
        .flatMap((r) => r.Properties.PolicyDocument.Statement)
        .filter((st: { Action: string | string[] }) =>
          [st.Action].flat().some((a) => a.startsWith('kms:')),
        );
    const services = (part: string) => {
      const found: Record<string, string[]> = {};
      for (const st of kmsOf(part)) {
        expect(st.Resource, part).toBe(KEY_ARN);
        const via = st.Condition?.StringEquals?.['kms:ViaService'];
        expect(typeof via, `${part}: every key grant is through a service`).toBe('string');
        const service = /^([a-z0-9]+)\.eu-west-1\.amazonaws\.com$/.exec(via)?.[1];
        expect(service, via).toBeDefined();
        found[service as string] = [
          ...new Set([...(found[service as string] ?? []), ...[st.Action].flat()]),
        ].sort();
      }
      return found;
    };
    expect(services('webhook-receiver')).toEqual({
      dynamodb: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      s3: ['kms:GenerateDataKey'],
      sqs: ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
    expect(services('event-worker')).toEqual({
      dynamodb: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      s3: ['kms:Decrypt'],
      secretsmanager: ['kms:Decrypt'],
      sqs: ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
    expect(services('reconciler')).toEqual({
      dynamodb: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      secretsmanager: ['kms:Decrypt'],
      sqs: ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
    expect(services('reporter')).toEqual({
      // it writes its deferred periods (STATE#reporter) beside each org
      dynamodb: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      s3: ['kms:GenerateDataKey'],
      secretsmanager: ['kms:Decrypt'],
      sqs: ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
    expect(services('token-refresher')).toEqual({
      dynamodb: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      secretsmanager: ['kms:Decrypt', 'kms:GenerateDataKey'],
      sqs: ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
  });

  test('the access-log bucket takes log delivery by bucket policy with ACLs disabled, whatever the feature flags', () => {
    const bare = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new TallyfyStack(bare, 'NoFlags', { env: TEST_ENV });
    Validations.of(bare).addPlugins(new AwsSolutionsChecks(bare));
    expect(() => bare.synth()).not.toThrow();
    const template = Template.fromStack(stack);
    const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
    expect(buckets).toHaveLength(3);
    for (const bucket of buckets) {
      expect(bucket.Properties.OwnershipControls).toEqual({
        Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
      });
      expect(bucket.Properties.AccessControl).toBeUndefined();
    }
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
          }),
        ]),
      },
    });
  });

  test('acknowledgements carry a specific reason', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new TallyfyStack(app, 'Reasons');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const reasons = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.values(m.data as Record<string, string>));
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(String(reason).length).toBeGreaterThan(40);
  });
});
