/**
 * reconciler Lambda: an EventBridge schedule (every RECONCILE_INTERVAL_MINUTES) reconciles
 * every active org; `{orgId}` reconciles one on demand (CLI). The clients and dependencies live
 * at module scope, so warm invocations reuse them; `wiring.ts` builds them, as for local mode.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientSettings } from '../../shared/config/aws-clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { mapBundleStackTraces } from '../../shared/observability/index.ts';
import { createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { createReconcilerHandler } from './handler.ts';
import { RECONCILER_SECTIONS, wireReconciler } from './wiring.ts';

// stack traces name the TypeScript sources; the bundle's map is read when one is printed
mapBundleStackTraces(import.meta.url);
const config = loadConfig(RECONCILER_SECTIONS);
const { aws } = config;

export const deps = wireReconciler(config, {
  dynamo: createOrgsDynamoClients(awsClientSettings(aws, 'dynamoDb')).document,
  secretsManager: new SecretsManagerClient(awsClientSettings(aws, 'secretsManager')),
  sqs: new SQSClient(awsClientSettings(aws, 'sqs')),
  lambda: new LambdaClient(awsClientSettings(aws, 'lambda')),
});
export const handler = createReconcilerHandler(deps);
