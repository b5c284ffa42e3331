/**
 * The Tallyfy API per org, for every function that calls Tallyfy on behalf of many orgs (worker,
 * reconciler, reporter): one {@link TallyfyApi} per org, authenticated through the function's
 * token provider, kept for the container's life (clients share the process-wide pool).
 */
import { createTallyfyClient, type TallyfyAuth, type TallyfyClientOptions } from './client.ts';
import { TallyfyApi } from './operations.ts';
import { type RequestPacer, sharedOrgPacer } from './pacing.ts';

/** Options of {@link tallyfyApiPerOrg}. */
export interface TallyfyApiPerOrgOptions {
  /** The org's auth, usually `(orgId) => tokens.forOrg(orgId)` of the token provider. */
  auth: (orgId: string) => TallyfyAuth;
  /** Client options shared by every org (base URL, timeouts, retry); `auth` is per org. */
  client?: Omit<TallyfyClientOptions, 'auth' | 'pacer'>;
  /**
   * Each org's request budget per minute (TALLYFY_REQUESTS_PER_MINUTE): its calls share one
   * token bucket per container. @default no pacing
   */
  requestsPerMinute?: number | undefined;
  /** The pacer of an org. @default `sharedOrgPacer(orgId, requestsPerMinute)` */
  pacerFor?: ((orgId: string) => RequestPacer) | undefined;
}

/**
 * @example
 * const tallyfyFor = tallyfyApiPerOrg({ auth: (orgId) => tokens.forOrg(orgId),
 *   client: tallyfyClientOptions(config.tallyfy), requestsPerMinute: config.tallyfy.requestsPerMinute });
 * await tallyfyFor('org5f4e3d2c1b0a').launchRun('org5f4e3d2c1b0a', { checklistId, name });
 */
export function tallyfyApiPerOrg(options: TallyfyApiPerOrgOptions): (orgId: string) => TallyfyApi {
  const apis = new Map<string, TallyfyApi>();
  return (orgId) => {
    let api = apis.get(orgId);
    if (api === undefined) {
      const pacer =
        options.pacerFor?.(orgId) ??
        (options.requestsPerMinute === undefined
          ? undefined
          : sharedOrgPacer(orgId, options.requestsPerMinute));
      api = new TallyfyApi(
        createTallyfyClient({
          ...options.client,
          auth: options.auth(orgId),
          ...(pacer === undefined ? {} : { pacer }),
        }),
      );
      apis.set(orgId, api);
    }
    return api;
  };
}
