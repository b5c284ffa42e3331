/**
 * The deployable stack: one {@link TallyfyIntegration} and its outputs (the contract the CLI
 * reads: {@link STACK_OUTPUTS}, plus `AlarmTopicArn`).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { TallyfyIntegration, type TallyfyIntegrationProps } from './tallyfy-integration.ts';

/** The outputs the CLI reads (`--stack`), by name: a contract with `bin/`. */
export const STACK_OUTPUTS = [
  'WebhookBaseUrl',
  'OrgsTableName',
  'SecretPrefix',
  'EventsQueueUrl',
  'DeadLetterQueueUrl',
  'EventBusName',
  'ArchiveBucketName',
  'ReportsBucketName',
  'TokenRefresherFunctionName',
  'ReconcilerFunctionName',
  'ReporterFunctionName',
] as const;

/** The output naming the secrets' customer key; only with a key (the CLI reads it if present). */
export const SECRETS_KEY_OUTPUT = 'SecretsKmsKeyArn';

/** One output name of {@link STACK_OUTPUTS}. */
export type StackOutputName = (typeof STACK_OUTPUTS)[number];

/** Properties of {@link TallyfyStack}. */
export interface TallyfyStackProps extends StackProps {
  /**
   * Settings of the integration (the encryption key is given by ARN below).
   * @default - every integration default
   */
  readonly integration?: Omit<TallyfyIntegrationProps, 'encryptionKey'>;
  /**
   * ARN of a customer managed KMS key to encrypt data at rest with.
   * @default - AWS managed encryption
   */
  readonly encryptionKeyArn?: string;
}

/**
 * The integration as a stack.
 *
 * @example
 * new TallyfyStack(app, 'TallyfyServerless', { integration: { alarmEmail: 'ops@example.com' } });
 */
export class TallyfyStack extends Stack {
  /** The integration inside. */
  readonly integration: TallyfyIntegration;

  constructor(scope: Construct, id: string, props: TallyfyStackProps = {}) {
    super(scope, id, props);
    const encryptionKey = props.encryptionKeyArn
      ? Key.fromKeyArn(this, 'CustomerKey', props.encryptionKeyArn)
      : undefined;
    this.integration = new TallyfyIntegration(this, 'Tallyfy', {
      ...props.integration,
      encryptionKey,
    });

    const integration = this.integration;
    const { orgs, events, storage, secrets, alarms } = integration;
    const outputs: Record<StackOutputName | 'AlarmTopicArn', [string, string]> = {
      WebhookBaseUrl: [
        integration.webhookBaseUrl,
        'Webhook URL of an org: <this>/<orgId>/<secret> (the CLI prints it at registration)',
      ],
      OrgsTableName: [
        orgs.tableName,
        'DynamoDB table of orgs, rules, watermarks, dedupe (ORGS_TABLE)',
      ],
      SecretPrefix: [secrets.prefix, 'Prefix of the per-org secrets (SECRET_PREFIX)'],
      EventsQueueUrl: [events.queue.queueUrl, 'SQS events queue (EVENTS_QUEUE_URL)'],
      DeadLetterQueueUrl: [
        events.deadLetterQueue.queueUrl,
        'SQS dead-letter queue of the events queue (EVENTS_DLQ_URL)',
      ],
      EventBusName: [
        events.bus.eventBusName,
        'EventBridge bus of normalized events (EVENT_BUS_NAME)',
      ],
      ArchiveBucketName: [
        storage.archiveBucket.bucketName,
        'S3 raw webhook archive (ARCHIVE_BUCKET)',
      ],
      ReportsBucketName: [storage.reportsBucket.bucketName, 'S3 reports bucket (REPORTS_BUCKET)'],
      TokenRefresherFunctionName: [
        integration.refresher.fn.function.functionName,
        'Token refresher function (CLI: tokens refresh)',
      ],
      ReconcilerFunctionName: [
        integration.reconciler.fn.function.functionName,
        'Reconciler function (CLI: reconcile)',
      ],
      ReporterFunctionName: [
        integration.reporter.fn.function.functionName,
        'Reporter function (CLI: report run)',
      ],
      AlarmTopicArn: [alarms.topic.topicArn, 'SNS topic alarms are sent to'],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
    if (secrets.encryptionKey !== undefined) {
      // the CLI creates org secrets with it (`orgs add --stack`)
      new CfnOutput(this, SECRETS_KEY_OUTPUT, {
        value: secrets.encryptionKey.keyArn,
        description:
          'Customer managed KMS key new org secrets are created with (SECRETS_KMS_KEY_ID)',
      });
    }
  }
}
