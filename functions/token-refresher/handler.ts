import {
  runTokenRefresher,
  type TokenRefresherDeps,
  type TokenRefresherResult,
} from '../../shared/tokens/index.ts';

export type { TokenRefresherDeps, TokenRefresherResult } from '../../shared/tokens/index.ts';

/** The Lambda context fields the handler reads (local mode may pass none). */
export interface RefresherContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

/**
 * The token refresher's handler: Lambda event and context → {@link runTokenRefresher} (the
 * request id owns the leases, the remaining time bounds a scheduled run).
 *
 * @example
 * const handler = createTokenRefresherHandler(wireTokenRefresher(config, clients));
 * await handler({ orgId: 'org5f4e3d2c1b0a', force: true });
 */
export function createTokenRefresherHandler(
  deps: TokenRefresherDeps,
): (event: unknown, context?: RefresherContext) => Promise<TokenRefresherResult> {
  return (event, context) =>
    runTokenRefresher(deps, event, {
      owner: context?.awsRequestId,
      remainingMs: context?.getRemainingTimeInMillis?.(),
    });
}
