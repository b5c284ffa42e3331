/**
 * The deployable stack: one {@link TallyfyIntegration} and its outputs.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { TallyfyIntegration, type TallyfyIntegrationProps } from './tallyfy-integration.ts';

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

    const { orgs, events, storage, secrets, alarms } = this.integration;
    const outputs: Record<string, [string, string]> = {
      OrgsTableName: [
        orgs.tableName,
        'DynamoDB table of orgs, rules, watermarks, dedupe (ORGS_TABLE)',
      ],
      EventBusName: [
        events.bus.eventBusName,
        'EventBridge bus of normalized events (EVENT_BUS_NAME)',
      ],
      EventsQueueUrl: [events.queue.queueUrl, 'SQS events queue (EVENTS_QUEUE_URL)'],
      DeadLetterQueueUrl: [
        events.deadLetterQueue.queueUrl,
        'SQS dead-letter queue of the events queue',
      ],
      ArchiveBucketName: [
        storage.archiveBucket.bucketName,
        'S3 raw webhook archive (ARCHIVE_BUCKET)',
      ],
      ReportsBucketName: [storage.reportsBucket.bucketName, 'S3 reports bucket (REPORTS_BUCKET)'],
      SecretPrefix: [secrets.prefix, 'Prefix of the per-org secrets (SECRET_PREFIX)'],
      AlarmTopicArn: [alarms.topic.topicArn, 'SNS topic alarms are sent to'],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}
