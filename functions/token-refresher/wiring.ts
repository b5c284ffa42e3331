/**
 * The token refresher's composition: its dependencies from config and clients, built here
 * only. `index.ts` calls it with the AWS clients at module scope; local mode calls it with
 * clients of its local engines.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../shared/config.ts';
import {
  createFunctionTelemetry,
  SERVICE_NAMES,
  type TelemetryOutput,
} from '../../shared/observability/index.ts';
import { orgRegistryFromConfig } from '../../shared/orgs/index.ts';
import { tallyfyOAuthOptions } from '../../shared/tallyfy/from-config.ts';
import { tallyfyOAuth } from '../../shared/tallyfy/index.ts';
import { refreshPolicyFromConfig } from '../../shared/tokens/from-config.ts';
import {
  createTallyfyGrants,
  createTokenStore,
  type TokenRefresherDeps,
} from '../../shared/tokens/index.ts';

/** The config sections the refresher reads (plus `log` and `aws`). */
export const TOKEN_REFRESHER_SECTIONS = ['tallyfy', 'orgs', 'secrets', 'refresher'] as const;
export type TokenRefresherConfig = Config<(typeof TOKEN_REFRESHER_SECTIONS)[number]>;

export interface TokenRefresherClients {
  dynamo: DynamoDBDocumentClient;
  /**
   * The only client that may write credentials and token secrets. Give it `maxAttempts: 5`:
   * the standard strategy backs off on ThrottlingException (≈50 writes/s per region).
   */
  secretsManager: SecretsManagerClient;
}

export interface TokenRefresherLocalParts {
  telemetry?: TelemetryOutput | undefined;
}

/**
 * @example
 * const deps = wireTokenRefresher(loadConfig(TOKEN_REFRESHER_SECTIONS), { dynamo, secretsManager });
 * export const handler = createTokenRefresherHandler(deps);
 */
export function wireTokenRefresher(
  config: TokenRefresherConfig,
  clients: TokenRefresherClients,
  local: TokenRefresherLocalParts = {},
): TokenRefresherDeps {
  const clock = Date.now;
  const { logger, metrics, flushMetrics } = createFunctionTelemetry(
    config.log,
    SERVICE_NAMES.refresher,
    local.telemetry,
  );
  const { tallyfy, refresher } = config;
  return {
    registry: orgRegistryFromConfig(config.orgs, clients.dynamo, clock),
    secrets: createTokenStore({
      client: clients.secretsManager,
      prefix: config.secrets.prefix,
      kmsKeyId: config.secrets.kmsKeyId,
      clock,
    }),
    grants: createTallyfyGrants(tallyfyOAuth(tallyfyOAuthOptions(tallyfy))),
    policy: refreshPolicyFromConfig(refresher),
    clock,
    random: Math.random,
    logger,
    metrics,
    flushMetrics,
    leaseDurationMs: refresher.leaseSeconds * 1000,
    concurrency: refresher.concurrency,
  };
}
