/**
 * token-refresher Lambda: an EventBridge schedule (every REFRESH_INTERVAL_MINUTES) refreshes
 * every due org; workers invoke it asynchronously with `{orgId, force: true, reason}` after a
 * 401. The clients and dependencies live at module scope, so warm invocations reuse them;
 * `wiring.ts` builds them, as it does for local mode.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientSettings } from '../../shared/config/aws-clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { mapBundleStackTraces } from '../../shared/observability/index.ts';
import { createOrgsDynamoClients } from '../../shared/orgs/index.ts';
import { createTokenRefresherHandler } from './handler.ts';
import { TOKEN_REFRESHER_SECTIONS, wireTokenRefresher } from './wiring.ts';

// stack traces name the TypeScript sources; the bundle's map is read when one is printed
mapBundleStackTraces(import.meta.url);
const config = loadConfig(TOKEN_REFRESHER_SECTIONS);
const { aws } = config;

export const deps = wireTokenRefresher(config, {
  dynamo: createOrgsDynamoClients(awsClientSettings(aws, 'dynamoDb')).document,
  // 5 attempts: the standard strategy backs off on ThrottlingException (≈50 writes/s per region)
  secretsManager: new SecretsManagerClient({
    ...awsClientSettings(aws, 'secretsManager'),
    maxAttempts: 5,
  }),
});
export const handler = createTokenRefresherHandler(deps);
