/**
 * reporter Lambda: an EventBridge schedule (daily at REPORT_HOUR_UTC, default 06:00 UTC) reports
 * on every active org; `{orgId, since?, until?}` reports on one org and a custom period (CLI).
 * The clients and dependencies live at module scope, so warm invocations reuse them;
 * `wiring.ts` builds them, as it does for local mode.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientSettings } from '../../shared/config/aws-clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { mapBundleStackTraces } from '../../shared/observability/index.ts';
import { createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { createReporterHandler } from './handler.ts';
import { REPORTER_SECTIONS, wireReporter } from './wiring.ts';

// stack traces name the TypeScript sources; the bundle's map is read when one is printed
mapBundleStackTraces(import.meta.url);
const config = loadConfig(REPORTER_SECTIONS);
const { aws } = config;

export const deps = wireReporter(config, {
  dynamo: createOrgsDynamoClients(awsClientSettings(aws, 'dynamoDb')).document,
  secretsManager: new SecretsManagerClient(awsClientSettings(aws, 'secretsManager')),
  s3: new S3Client(awsClientSettings(aws, 's3')),
  lambda: new LambdaClient(awsClientSettings(aws, 'lambda')),
});
export const handler = createReporterHandler(deps);
