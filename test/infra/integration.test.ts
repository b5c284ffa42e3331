import { fileURLToPath } from 'node:url';
import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, test } from 'vitest';
import { TallyfyIntegration, TallyfyStack } from '../../infra/index.ts';
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
      .bindTable(integration.orgs.table, { readOnly: true })
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
    expect(threshold('EventsReconciled')).toBe(3);
    expect(threshold('SoonestTokenExpiry')).toBe(120);
    expect(threshold('ApproximateAgeOfOldestMessage')).toBe(300);
    // DLQ + 7 part alarms + an errors alarm per function (5 parts + the custom one)
    expect(alarms).toHaveLength(1 + 7 + 6);
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
