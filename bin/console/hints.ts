/**
 * What an operator can do about an org's last refresh error, by its stable code (the codes of
 * shared/tallyfy OAuth errors, shared/tokens store errors and the refresher). The console shows
 * the code and this hint; the code alone is what the refresher stored.
 */
const HINTS: Readonly<Record<string, string>> = {
  invalid_client:
    "Tallyfy rejected the client id or secret: register the org again with the app's current credentials.",
  invalid_credentials:
    "Tallyfy rejected the user's password: register the org again with the user's current password.",
  refresh_token_rejected:
    'The refresh token was spent or revoked; without a password fallback the org needs new credentials (orgs remove, then orgs add).',
  token_rejected:
    'The personal access token is dead (expired, or its user logged out): issue a new one and register the org again.',
  user_not_found:
    'The user the org signs in as no longer exists in Tallyfy: register the org with another user.',
  forbidden: 'Tallyfy refused for lack of permission: the user must be an admin of the org.',
  credentials_incomplete:
    'The stored credentials miss a field their auth mode needs: register the org again.',
  secret_not_found: 'The credentials secret is gone: register the org again.',
  secret_malformed:
    'The credentials secret is not valid JSON for its auth mode: register the org again.',
  secret_deleted:
    'The credentials secret is scheduled for deletion: restore it, or register the org again.',
  credentials_stale:
    'Secrets Manager answered with an older version; the refresher retries shortly.',
  rate_limited: 'Tallyfy answered 429; the refresher retries after its Retry-After.',
  server_error: 'Tallyfy answered 5xx; the refresher retries with back-off.',
  network_error: 'Tallyfy could not be reached (timeout, reset, DNS); the refresher retries.',
  bad_response:
    'Tallyfy answered something the client could not read; the refresher retries. If it persists, check TALLYFY_TOKEN_URL.',
  invalid_request:
    "The token endpoint refused the request shape; check TALLYFY_TOKEN_URL and the org's auth mode.",
  unexpected_error: "An unexpected failure: see the token refresher's log for the org.",
};

/** The hint for a code, or a general one. */
export function errorHint(code: string): string {
  return (
    HINTS[code] ?? "See the token refresher's log for this org; `tokens refresh <org>` retries now."
  );
}
