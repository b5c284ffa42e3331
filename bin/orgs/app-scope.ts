/**
 * What a client-credentials org can do, said once for every command that needs to say it:
 * Tallyfy's app tokens serve application management only, so automations that touch processes
 * or tasks, the reconciler and the reports need a user token (`app_user_token` or `password`).
 */
import type { Org } from '../../shared/orgs/index.ts';
import { CliError } from '../errors.ts';

/** Printed by `orgs add --auth-mode client_credentials`. */
export const CLIENT_CREDENTIALS_NOTE =
  'client_credentials gives an app token: Tallyfy serves it its application-management endpoints only (/applications/…: app users, user tokens). ' +
  'Templates, processes, tasks and /me answer it 401, so for this org rules may only http_post and publish (launch_process, comment_on_task and complete_task are refused), and the reconciler and the reports skip it. ' +
  'For automations, reconciliation and reports use --auth-mode app_user_token: the same app client mints a token for a named user (--app-client-id, --email, secret appClientSecret).';

/** The fix every refusal names. */
const HINT =
  'Register the org with --auth-mode app_user_token (the app mints a user token: `orgs remove <org> --purge`, then `orgs add <org> --auth-mode app_user_token --app-client-id <id> --email <user>`), or with password.';

/**
 * The refusal of something that needs user-scoped endpoints for a client-credentials org.
 *
 * @example throw userScopeRefused(org, 'rule po-approved', ['launch_process']);
 */
export function userScopeRefused(org: Org, what: string, needs: readonly string[]): CliError {
  return new CliError(
    'CLI_AUTH_MODE_UNSUPPORTED',
    `Org ${org.orgId} uses client_credentials: its app token cannot serve ${what}${needs.length === 0 ? '' : ` (${needs.join(', ')})`}, which needs Tallyfy's user-scoped endpoints (processes, tasks). Nothing was changed.`,
    { hint: HINT, details: { orgId: org.orgId, authMode: org.authMode, needs: [...needs] } },
  );
}
