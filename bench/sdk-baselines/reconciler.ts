/**
 * Cold-start baseline of the reconciler (bench/bundles.bench.ts): only the AWS SDK clients
 * functions/reconciler/index.ts constructs, with the same options; nothing else.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createOrgsDynamoClients } from '../../shared/orgs/client.ts';

export const clients = [
  createOrgsDynamoClients().document,
  new SecretsManagerClient({}),
  new SQSClient({}),
  new LambdaClient({}),
];
export const handler = async () => ({ clients: clients.length });
