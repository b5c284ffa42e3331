/**
 * The token parts every function builds from config, in one place: the worker-side token
 * provider (cache settings from `tokens`, refresh requests from `refreshRequests`, the token
 * store from `secrets`) and the refresher's policy (from `refresher`).
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  RefresherConfig,
  RefreshRequestsConfig,
  SecretsConfig,
  TallyfyConfig,
  TokensConfig,
} from '../config.ts';
import type { Logger, MetricName } from '../observability/index.ts';
import { tallyfyClientOptions } from '../tallyfy/from-config.ts';
import { type TallyfyApi, tallyfyApiPerOrg } from '../tallyfy/index.ts';
import { createTokenProvider, type TokenProvider, type TokenProviderOptions } from './provider.ts';
import { DEFAULT_REFRESH_POLICY, type RefreshPolicy } from './refresh-policy.ts';
import { createRefreshRequester, type RefreshRequest } from './refresh-requests.ts';
import { createTokenStore } from './store.ts';

/**
 * The cache settings of a worker-side token provider from the `tokens` config section, and its
 * log lines through the function's logger.
 *
 * @example
 * const tokens = createTokenProvider({ store, clock, requestRefresh,
 *   ...tokenCacheOptions(config.tokens, logger) });
 */
export function tokenCacheOptions(
  tokens: TokensConfig,
  logger: Logger,
): Pick<TokenProviderOptions, 'ttlMs' | 'skewMs' | 'logger'> {
  return {
    ttlMs: tokens.cacheTtlSeconds * 1000,
    skewMs: tokens.expirySkewSeconds * 1000,
    logger: {
      debug: (message, extra) => logger.debug(message, extra ?? {}),
      warn: (message, extra) => logger.warn(message, extra ?? {}),
    },
  };
}

/** What {@link tokenProviderFromConfig} builds the provider from. */
export interface TokenProviderParts {
  secretsManager: SecretsManagerClient;
  /** For `REFRESH_REQUESTS=<function>`: asynchronous invokes of the refresher. */
  lambda?: LambdaClient | undefined;
  /** For `REFRESH_REQUESTS=local`: runs the refresher in this process (local mode). */
  refreshInProcess?: ((request: RefreshRequest) => Promise<unknown>) | undefined;
  clock: () => number;
  logger: Logger;
  /** Counts `RefreshRequestsSent`. */
  metrics?: { record(name: MetricName, value?: number): unknown } | undefined;
}

/**
 * The token provider of a function that calls Tallyfy (worker, reconciler, reporter): reads
 * the org's token secret (never mints), caches it per container, and after a 401 it cannot
 * cure by a re-read asks the refresher through `REFRESH_REQUESTS`.
 *
 * @example
 * const tokens = tokenProviderFromConfig(config, { secretsManager, lambda, clock, logger, metrics });
 */
export function tokenProviderFromConfig(
  config: { tokens: TokensConfig; secrets: SecretsConfig; refreshRequests: RefreshRequestsConfig },
  parts: TokenProviderParts,
): TokenProvider {
  const requester = createRefreshRequester(config.refreshRequests.target, {
    lambda: parts.lambda,
    local: parts.refreshInProcess,
  });
  return createTokenProvider({
    store: createTokenStore({
      client: parts.secretsManager,
      prefix: config.secrets.prefix,
      kmsKeyId: config.secrets.kmsKeyId,
      clock: parts.clock,
    }),
    clock: parts.clock,
    ...tokenCacheOptions(config.tokens, parts.logger),
    requestRefresh: (orgId, reason, detail) => {
      parts.metrics?.record('RefreshRequestsSent');
      return requester(orgId, reason, detail);
    },
  });
}

/**
 * The Tallyfy API per org of a function that calls Tallyfy for many orgs (worker, reconciler,
 * reporter): the `tallyfy` client settings, authenticated by {@link tokenProviderFromConfig}.
 *
 * @example
 * const tallyfyFor = tallyfyPerOrgFromConfig(config, { secretsManager, lambda, clock, logger, metrics });
 * await tallyfyFor(orgId).me();
 */
export function tallyfyPerOrgFromConfig(
  config: Parameters<typeof tokenProviderFromConfig>[0] & { tallyfy: TallyfyConfig },
  parts: TokenProviderParts,
): (orgId: string) => TallyfyApi {
  const tokens = tokenProviderFromConfig(config, parts);
  return tallyfyApiPerOrg({
    auth: (orgId) => tokens.forOrg(orgId),
    client: tallyfyClientOptions(config.tallyfy),
    // one token bucket per org in this container (TALLYFY_REQUESTS_PER_MINUTE)
    requestsPerMinute: config.tallyfy.requestsPerMinute,
  });
}

/**
 * The refresher's policy: the `refresher` config section over the defaults it does not set.
 * @example
 * const policy = refreshPolicyFromConfig(config.refresher);
 */
export function refreshPolicyFromConfig(refresher: RefresherConfig): RefreshPolicy {
  return {
    ...DEFAULT_REFRESH_POLICY,
    marginMinSeconds: refresher.marginMinSeconds,
    marginFraction: refresher.marginFraction,
    keepAliveSeconds: refresher.keepAliveSeconds,
    jitterSeconds: refresher.jitterSeconds,
    retryBaseSeconds: refresher.retryBaseSeconds,
    retryMaxSeconds: refresher.retryMaxSeconds,
  };
}
