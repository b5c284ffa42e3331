import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { describe, expect, test } from 'vitest';
import { ORGS_TABLE_LOGICAL_ID, OrgsTable } from '../../infra/index.ts';
import { TallyfyStack } from '../../infra/stack.ts';
import { newApp, newStack, TEST_ENV } from './support.ts';

describe('OrgsTable', () => {
  const template = Template.fromStack(new TallyfyStack(newApp(), 'Stack', { env: TEST_ENV }));

  test('the table keeps the logical id OrgsTable whatever the construct path', () => {
    template.hasResource('AWS::DynamoDB::Table', {});
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table'))).toEqual([
      ORGS_TABLE_LOGICAL_ID,
    ]);
    const elsewhere = newStack(newApp());
    new OrgsTable(elsewhere, 'RenamedParent');
    expect(
      Object.keys(Template.fromStack(elsewhere).findResources('AWS::DynamoDB::Table')),
    ).toEqual(['OrgsTable']);
  });

  test('keys are pk/sk strings, on-demand, with point-in-time recovery and TTL on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('the byRefreshDue and byKind indexes have string keys and project every attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byRefreshDue',
          KeySchema: [
            { AttributeName: 'refreshShard', KeyType: 'HASH' },
            { AttributeName: 'refreshDueAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'byKind',
          KeySchema: [
            { AttributeName: 'kind', KeyType: 'HASH' },
            { AttributeName: 'orgId', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'refreshShard', AttributeType: 'S' },
        { AttributeName: 'refreshDueAt', AttributeType: 'S' },
        { AttributeName: 'kind', AttributeType: 'S' },
        { AttributeName: 'orgId', AttributeType: 'S' },
      ]),
    });
  });

  test('by default the table is retained, deletion-protected and encrypted with the AWS managed key', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
      }),
    });
  });

  test('a customer key encrypts the table with KMS and DESTROY lifts retention', () => {
    const stack = newStack(newApp());
    const key = Key.fromKeyArn(
      stack,
      'Key',
      'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
    );
    new OrgsTable(stack, 'Orgs', { encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY });
    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        DeletionProtectionEnabled: false,
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId:
            'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
        },
      }),
    });
  });
});
