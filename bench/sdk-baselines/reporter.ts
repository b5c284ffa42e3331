/**
 * Cold-start baseline of the reporter (bench/bundles.bench.ts): only the AWS SDK clients
 * functions/reporter/index.ts constructs, with the same options; nothing else.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createOrgsDynamoClients } from '../../shared/orgs/client.ts';

export const clients = [
  createOrgsDynamoClients().document,
  new SecretsManagerClient({}),
  new S3Client({}),
  new LambdaClient({}),
];
export const handler = async () => ({ clients: clients.length });
