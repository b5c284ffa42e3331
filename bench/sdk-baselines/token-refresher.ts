/**
 * Cold-start baseline of the token-refresher (bench/bundles.bench.ts): only the AWS SDK clients
 * functions/token-refresher/index.ts constructs, with the same options; nothing else.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createOrgsDynamoClients } from '../../shared/orgs/client.ts';

export const clients = [
  createOrgsDynamoClients().document,
  new SecretsManagerClient({ maxAttempts: 5 }),
];
export const handler = async () => ({ clients: clients.length });
