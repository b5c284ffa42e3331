import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { describe, expect, test } from 'vitest';
import { EventsPipeline, Storage } from '../../infra/index.ts';
import { TallyfyStack } from '../../infra/stack.ts';
import { newApp, newStack, TEST_ENV } from './support.ts';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/** A bucket/queue policy statement that denies every request not made over TLS. */
const TLS_ONLY = Match.objectLike({
  Effect: 'Deny',
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});

describe('EventsPipeline', () => {
  const template = Template.fromStack(new TallyfyStack(newApp(), 'Stack', { env: TEST_ENV }));
  const queues = template.findResources('AWS::SQS::Queue');
  const [queueId] = Object.entries(queues).find(([, q]) => q.Properties.RedrivePolicy) ?? [];
  const dlqId =
    queues[queueId ?? '']?.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
  const failedId = Object.keys(queues).find((id) => id !== queueId && id !== dlqId);

  test('the events queue moves a message to the DLQ after 5 receives', () => {
    expect(queueId).toBeDefined();
    expect(queues[queueId ?? '']?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  test('the DLQ keeps messages 14 days and both queues use SQS managed encryption by default', () => {
    expect(queues[dlqId ?? '']?.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    expect(queues[queueId ?? '']?.Properties.SqsManagedSseEnabled).toBe(true);
  });

  test('the visibility timeout is six times the worker timeout', () => {
    expect(queues[queueId ?? '']?.Properties.VisibilityTimeout).toBe(720);
    const stack = newStack(newApp());
    new EventsPipeline(stack, 'Events', { workerTimeout: Duration.seconds(70) });
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 420,
    });
  });

  test('every queue refuses requests without TLS', () => {
    expect(Object.keys(template.findResources('AWS::SQS::QueuePolicy'))).toHaveLength(3);
    for (const id of [queueId, dlqId, failedId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([TLS_ONLY]) },
      });
    }
  });

  test('a customer key encrypts every queue with KMS', () => {
    const stack = newStack(newApp());
    new EventsPipeline(stack, 'Events', { encryptionKey: Key.fromKeyArn(stack, 'Key', KEY_ARN) });
    const kmsQueues = Template.fromStack(stack).findResources('AWS::SQS::Queue', {
      Properties: { KmsMasterKeyId: KEY_ARN },
    });
    expect(Object.keys(kmsQueues)).toHaveLength(3);
  });

  test('failed asynchronous invocations are kept 14 days in a queue of their own', () => {
    expect(failedId).toBeDefined();
    expect(queues[failedId ?? '']?.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    expect(queues[failedId ?? '']?.Properties.RedrivePolicy).toBeUndefined();
  });

  test('a worker timeout beyond the Lambda maximum is rejected naming the prop', () => {
    const stack = newStack(newApp());
    expect(
      () => new EventsPipeline(stack, 'Events', { workerTimeout: Duration.minutes(16) }),
    ).toThrow(/workerTimeout must be 1-900 seconds/);
  });

  test('the bus archive keeps tallyfy events for the days asked', () => {
    const stack = newStack(newApp());
    new EventsPipeline(stack, 'Events', { busArchiveRetentionDays: 30 });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Archive', {
      RetentionDays: 30,
      EventPattern: { source: ['tallyfy'] },
    });
  });
});

describe('Storage', () => {
  const template = Template.fromStack(new TallyfyStack(newApp(), 'Stack', { env: TEST_ENV }));
  const buckets = template.findResources('AWS::S3::Bucket');

  test('every bucket blocks public access and refuses requests without TLS', () => {
    expect(Object.keys(buckets)).toHaveLength(3);
    for (const [id, bucket] of Object.entries(buckets)) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: { Statement: Match.arrayWith([TLS_ONLY]) },
      });
    }
  });

  test('every bucket is encrypted and retained by default', () => {
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      });
      expect(bucket.DeletionPolicy).toBe('Retain');
    }
  });

  test('the archive ages out, the reports bucket is versioned, both log access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            ExpirationInDays: 365,
            Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
          }),
        ],
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'archive/' }),
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'reports/' }),
    });
  });

  test('a customer key encrypts the archive and reports with KMS; access logs stay on SSE-S3', () => {
    const stack = newStack(newApp());
    new Storage(stack, 'Storage', { encryptionKey: Key.fromKeyArn(stack, 'Key', KEY_ARN) });
    const kms = Template.fromStack(stack).findResources('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN },
            }),
          ],
        },
      },
    });
    expect(Object.keys(kms)).toHaveLength(2);
  });

  test('an expiry not after the transition is rejected naming both props', () => {
    const stack = newStack(newApp());
    expect(
      () => new Storage(stack, 'Storage', { archiveTransitionDays: 90, archiveExpirationDays: 60 }),
    ).toThrow(/archiveExpirationDays \(60\) must exceed archiveTransitionDays \(90\)/);
  });
});
