/**
 * The client settings every function that calls Tallyfy reads from the `tallyfy` config
 * section (docs/configuration.md), in one place.
 */
import type { TallyfyConfig } from '../config.ts';
import type { TallyfyClientOptions } from './client.ts';
import type { OAuthOptions } from './oauth.ts';

/**
 * @example
 * const client = createTallyfyClient({ ...tallyfyClientOptions(config.tallyfy), auth });
 */
export function tallyfyClientOptions(tallyfy: TallyfyConfig): Pick<
  TallyfyClientOptions,
  'baseUrl' | 'connectTimeoutMs' | 'headersTimeoutMs' | 'bodyTimeoutMs'
> & {
  retry: { maxRetries: number; retryAfterCapMs: number };
} {
  return {
    baseUrl: tallyfy.baseUrl,
    connectTimeoutMs: tallyfy.connectTimeoutMs,
    headersTimeoutMs: tallyfy.headersTimeoutMs,
    bodyTimeoutMs: tallyfy.bodyTimeoutMs,
    retry: {
      maxRetries: tallyfy.maxRetries,
      retryAfterCapMs: tallyfy.retryAfterCapSeconds * 1000,
    },
  };
}

/**
 * The token calls' settings: the client's (timeouts, retry policy, API base for `GET /me` and
 * app user tokens) and the token endpoint, `TALLYFY_TOKEN_URL` (derived from the API base when
 * unset).
 *
 * @example
 * const oauth = tallyfyOAuth(tallyfyOAuthOptions(config.tallyfy));
 */
export function tallyfyOAuthOptions(tallyfy: TallyfyConfig): OAuthOptions {
  return { ...tallyfyClientOptions(tallyfy), tokenUrl: tallyfy.tokenUrl };
}
