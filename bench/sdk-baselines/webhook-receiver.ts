/**
 * Cold-start baseline of the webhook-receiver (bench/bundles.bench.ts): only the AWS SDK clients
 * functions/webhook-receiver/index.ts constructs, with the same options; nothing else.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createOrgsDynamoClients } from '../../shared/orgs/client.ts';

export const clients = [createOrgsDynamoClients().document, new SQSClient({}), new S3Client({})];
export const handler = async () => ({ clients: clients.length });
