/*
 * Where Tallyfy's OAuth token endpoint is. It is not `${apiBase}/oauth/token`: Tallyfy's own
 * production connectors post grants to `https://account.tallyfy.com/oauth/token` while the API
 * answers on `https://go.tallyfy.com/api` (and `https://api.tallyfy.com`), and Tallyfy's MCP server
 * names `account.tallyfy.com` (`staging.account.tallyfy.com` for staging) as its authorization
 * server. The docs also name `go.tallyfy.com/oauth/token` and `go.tallyfy.com/api/oauth/token`
 * (tallyfy-api.md, "Base URL and headers": a conflict), so the URL is a setting of its own
 * (`TALLYFY_TOKEN_URL`, per org `tokenUrl`) and `tallyfy-serverless doctor` says which one works.
 */

/** The token endpoint of Tallyfy's production API (`go.tallyfy.com`, `api.tallyfy.com`). */
export const DEFAULT_TOKEN_URL = 'https://account.tallyfy.com/oauth/token';

const STAGING_TOKEN_URL = 'https://staging.account.tallyfy.com/oauth/token';

/** Tallyfy's API hosts and the token endpoint each one's grants go to. */
const TOKEN_URL_OF_API_HOST: Readonly<Record<string, string>> = {
  'go.tallyfy.com': DEFAULT_TOKEN_URL,
  'api.tallyfy.com': DEFAULT_TOKEN_URL,
  'staging.go.tallyfy.com': STAGING_TOKEN_URL,
  'staging.api.tallyfy.com': STAGING_TOKEN_URL,
};

/**
 * The token endpoint that goes with a Tallyfy API base URL, or `undefined` when the base is not
 * one of Tallyfy's API hosts (a sandbox, a proxy): then the token URL must be given.
 *
 * @example
 * defaultTokenUrl('https://go.tallyfy.com/api');       // 'https://account.tallyfy.com/oauth/token'
 * defaultTokenUrl('http://127.0.0.1:4010/api');        // undefined
 */
export function defaultTokenUrl(apiBaseUrl: string): string | undefined {
  if (!URL.canParse(apiBaseUrl)) return undefined;
  const url = new URL(apiBaseUrl);
  if (url.protocol !== 'https:') return undefined;
  return TOKEN_URL_OF_API_HOST[url.hostname.toLowerCase()];
}

/** The Tallyfy API hosts {@link defaultTokenUrl} knows (for messages and docs). */
export const KNOWN_API_HOSTS: readonly string[] = Object.freeze(Object.keys(TOKEN_URL_OF_API_HOST));
