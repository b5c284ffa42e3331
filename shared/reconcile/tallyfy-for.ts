import { createTallyfyClient, TallyfyApi, type TallyfyClientOptions } from '../tallyfy/index.ts';
import type { TokenProvider } from '../tokens/index.ts';

/** Options of {@link tallyfyApiPerOrg}. */
export interface TallyfyApiPerOrgOptions {
  /** The token provider (reads token secrets; never mints). */
  tokens: Pick<TokenProvider, 'forOrg'>;
  /** Client options shared by every org (base URL, timeouts, retry); `auth` is per org. */
  client?: Omit<TallyfyClientOptions, 'auth'>;
}

/**
 * The `tallyfyFor` port of the reconciler (and of anything else reading per org): one
 * {@link TallyfyApi} per org, authenticated by the token provider, kept for the container's
 * life (clients share the process-wide connection pool).
 *
 * @example
 * const tallyfyFor = tallyfyApiPerOrg({ tokens, client: { baseUrl: config.tallyfy.baseUrl } });
 * for await (const task of tallyfyFor(orgId).listTasks(orgId, { status: 'completed' })) …
 */
export function tallyfyApiPerOrg(options: TallyfyApiPerOrgOptions): (orgId: string) => TallyfyApi {
  const apis = new Map<string, TallyfyApi>();
  return (orgId) => {
    let api = apis.get(orgId);
    if (api === undefined) {
      api = new TallyfyApi(
        createTallyfyClient({ ...options.client, auth: options.tokens.forOrg(orgId) }),
      );
      apis.set(orgId, api);
    }
    return api;
  };
}
