/**
 * The Tallyfy API per org for the worker: one client per org (cached for the container), its
 * token from the token provider (which re-reads the secret and asks the refresher on a 401),
 * 429 answered by waiting for `Retry-After` inside the client (capped), then by the queue.
 */

import { createTallyfyClient, TallyfyApi, type TallyfyClientOptions } from '../tallyfy/index.ts';
import type { OrgAuth } from '../tokens/index.ts';
import type { TallyfyFor } from './ports.ts';

/** Options of {@link tallyfyForOrgs}. */
export interface TallyfyForOrgsOptions {
  /** `tokens.forOrg` of the token provider. */
  auth: (orgId: string) => OrgAuth;
  /** Client options other than `auth` (base URL, timeouts, retry policy…). */
  client?: Omit<TallyfyClientOptions, 'auth'>;
}

/**
 * @example
 * const tallyfy = tallyfyForOrgs({ auth: (orgId) => tokens.forOrg(orgId),
 *   client: { baseUrl: config.tallyfy.baseUrl } });
 * await tallyfy('org5f4e3d2c1b0a').launchRun('org5f4e3d2c1b0a', { checklistId, name });
 */
export function tallyfyForOrgs(options: TallyfyForOrgsOptions): TallyfyFor {
  const apis = new Map<string, TallyfyApi>();
  return (orgId) => {
    let api = apis.get(orgId);
    if (!api) {
      api = new TallyfyApi(createTallyfyClient({ ...options.client, auth: options.auth(orgId) }));
      apis.set(orgId, api);
    }
    return api;
  };
}
