/**
 * The cache settings of a worker-side token provider from the `tokens` config section, and its
 * log lines through the function's logger, in one place.
 */
import type { TokensConfig } from '../config.ts';
import type { Logger } from '../observability/index.ts';
import type { TokenProviderOptions } from './provider.ts';

/**
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
