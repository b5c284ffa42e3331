/**
 * Cold-start baseline of the event-worker (bench/bundles.bench.ts): only the AWS SDK clients
 * functions/event-worker/index.ts constructs, with the same options; nothing else.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createOrgsDynamoClients } from '../../shared/orgs/client.ts';

export const clients = [
  createOrgsDynamoClients().document,
  new SecretsManagerClient({}),
  new SQSClient({}),
  new EventBridgeClient({}),
  new S3Client({}),
  new LambdaClient({}),
];
export const handler = async () => ({ clients: clients.length });
