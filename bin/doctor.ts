/**
 * `tallyfy-serverless doctor [org]`: probes the configuration against Tallyfy and says, check by
 * check, what works: the token endpoint answers as OAuth, the API answers, and per org the grant
 * is accepted, `GET /me` works with the token, its user belongs to the org, and the endpoint
 * classes the org's rules, the reconciler and the reports need (user-scoped vs application
 * management) serve its token. Each failure names the setting to change. Nothing is stored: a
 * token a check obtains lives in memory for the run only, and a stored refresh token is never
 * spent (it would rotate). No check prints a secret.
 */
import { parseRuleBody, userScopedActions } from '../shared/automations/index.ts';
import { errorCodeOf } from '../shared/error-codes.ts';
import type { Org, OrgRegistry, Rule } from '../shared/orgs/index.ts';
import { Secret } from '../shared/secret.ts';
import {
  createTallyfyClient,
  OAuthError,
  probeTokenEndpoint,
  staticToken,
  TallyfyApi,
  TallyfyAuthError,
  TallyfyError,
  TallyfyScopeError,
  tallyfyOAuth,
} from '../shared/tallyfy/index.ts';
import type { OrgCredentials, TokenStore } from '../shared/tokens/index.ts';
import type { TallyfySettings } from './target/index.ts';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

/** One line of the doctor's answer. Never holds a secret. */
export interface DoctorCheck {
  /** `token_endpoint`, `api`, `grant`, `me`, `membership`, `user_endpoints`, `app_endpoints`. */
  check: string;
  /** Present for the per-org checks. */
  orgId?: string;
  status: CheckStatus;
  /** What was checked and what was found. */
  detail: string;
  /** For a failure (or a warning): the setting to change, by name. */
  setting?: string;
  /** What to do. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  tallyfy: { baseUrl: string; tokenUrl: string | null };
  checks: DoctorCheck[];
}

export interface DoctorDeps {
  tallyfy: TallyfySettings;
  /** The target's kind, to name where a deployment setting lives. */
  targetKind: 'local' | 'stack';
  registry: Pick<OrgRegistry, 'getOrg' | 'listOrgs' | 'listRules'>;
  tokenStore: Pick<TokenStore, 'readCredentials' | 'readToken'>;
  clock: () => number;
}

/** The deployment's token URL setting, named as a person changes it. */
function tokenUrlSetting(kind: DoctorDeps['targetKind']): string {
  return kind === 'stack'
    ? 'TALLYFY_TOKEN_URL (CDK context tallyfy:tokenUrl, then deploy)'
    : 'TALLYFY_TOKEN_URL';
}

const TOKEN_URL_FIX =
  "Set it to Tallyfy's OAuth token endpoint (https://account.tallyfy.com/oauth/token for go.tallyfy.com and api.tallyfy.com); try a URL first with `tallyfy-serverless doctor --oauth-url <url>`.";

/**
 * Runs every check: the deployment's, then the named org's (or every org that is not disabled).
 *
 * @example
 * const report = await runDoctor({ tallyfy: target.tallyfy, targetKind: target.kind,
 *   registry: target.registry(), tokenStore: target.tokenStore(), clock: Date.now }, 'org5f4e3d2c1b0a');
 */
export async function runDoctor(deps: DoctorDeps, orgId?: string): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const { baseUrl, tokenUrl } = deps.tallyfy;
  checks.push(await checkTokenEndpoint(deps, tokenUrl, undefined));
  checks.push(await checkApi(baseUrl));
  const orgs: Org[] = [];
  if (orgId !== undefined) {
    const org = await deps.registry.getOrg(orgId);
    if (org !== undefined) orgs.push(org);
  } else {
    for await (const org of deps.registry.listOrgs()) if (org.status !== 'disabled') orgs.push(org);
  }
  for (const org of orgs) checks.push(...(await checkOrg(deps, org)));
  return {
    ok: checks.every((c) => c.status !== 'fail'),
    tallyfy: { baseUrl, tokenUrl: tokenUrl ?? null },
    checks,
  };
}

async function checkTokenEndpoint(
  deps: { tallyfy: { baseUrl: string }; targetKind: DoctorDeps['targetKind'] },
  tokenUrl: string | undefined,
  org: Pick<Org, 'orgId' | 'tokenUrl'> | undefined,
): Promise<DoctorCheck> {
  const orgPart = org === undefined ? {} : { orgId: org.orgId };
  const setting =
    org?.tokenUrl !== undefined
      ? `the org's own token URL (tallyfy-serverless orgs set-oauth-url ${org.orgId} <url>|default)`
      : tokenUrlSetting(deps.targetKind);
  if (tokenUrl === undefined) {
    return {
      check: 'token_endpoint',
      ...orgPart,
      status: 'fail',
      detail: `no token URL: ${deps.tallyfy.baseUrl} is not one of Tallyfy's API hosts, so it cannot be derived`,
      setting,
      fix: TOKEN_URL_FIX,
    };
  }
  const probe = await probeTokenEndpoint({ tokenUrl, baseUrl: deps.tallyfy.baseUrl });
  if (probe.ok) {
    return {
      check: 'token_endpoint',
      ...orgPart,
      status: 'pass',
      detail: `${tokenUrl} answers as an OAuth token endpoint (${probe.status}${probe.oauthError === undefined ? '' : ` ${probe.oauthError}`} to an empty request)`,
    };
  }
  return {
    check: 'token_endpoint',
    ...orgPart,
    status: 'fail',
    detail:
      probe.reason === 'network'
        ? `${tokenUrl} does not answer: ${probe.detail}`
        : `${probe.detail} (grants posted there fail)`,
    setting,
    fix: TOKEN_URL_FIX,
  };
}

/** The API answers as Tallyfy's: an unknown token gets its 401, not a network error or a 404. */
async function checkApi(baseUrl: string): Promise<DoctorCheck> {
  const api = new TallyfyApi(
    createTallyfyClient({
      auth: staticToken(new Secret('doctor-probe-not-a-token')),
      baseUrl,
      retry: { maxRetries: 0 },
    }),
  );
  try {
    await api.me();
    return {
      check: 'api',
      status: 'fail',
      detail: `${baseUrl}/me accepted a made-up token: it is not Tallyfy's API`,
      setting: 'TALLYFY_BASE_URL',
    };
  } catch (error) {
    if (error instanceof TallyfyAuthError) {
      return {
        check: 'api',
        status: 'pass',
        detail: `${baseUrl} answers as Tallyfy's API (401 to a made-up token)`,
      };
    }
    return {
      check: 'api',
      status: 'fail',
      detail: `${baseUrl}/me: ${describe(error)}`,
      setting: 'TALLYFY_BASE_URL',
      fix: "Set it to Tallyfy's API root, https://go.tallyfy.com/api by default.",
    };
  }
}

/** A token a check obtained (or the stored one), and whether it is an app token. */
interface Obtained {
  token: Secret;
  scope: 'app' | 'user';
}

async function checkOrg(deps: DoctorDeps, org: Org): Promise<DoctorCheck[]> {
  const orgId = org.orgId;
  const checks: DoctorCheck[] = [];
  const tokenUrl = org.tokenUrl ?? deps.tallyfy.tokenUrl;
  if (org.tokenUrl !== undefined) checks.push(await checkTokenEndpoint(deps, tokenUrl, org));
  let credentials: OrgCredentials;
  try {
    credentials = await deps.tokenStore.readCredentials(orgId);
  } catch (error) {
    checks.push({
      check: 'grant',
      orgId,
      status: 'fail',
      detail: `its credentials cannot be read: ${errorCodeOf(error, 'unknown')}`,
      setting: 'the org’s credentials',
      fix: `Register them again: \`tallyfy-serverless orgs remove ${orgId} --purge\`, then \`orgs add ${orgId}\`.`,
    });
    return checks;
  }
  const grant = await checkGrant(deps, org, credentials, tokenUrl);
  checks.push(...grant.checks);
  const obtained = grant.obtained;
  if (obtained === undefined) return checks;
  const api = new TallyfyApi(
    createTallyfyClient({
      auth: staticToken(obtained.token, { scope: obtained.scope }),
      baseUrl: deps.tallyfy.baseUrl,
      retry: { maxRetries: 1 },
    }),
    { perPage: 100 },
  );
  if (obtained.scope === 'app') {
    checks.push(
      {
        check: 'me',
        orgId,
        status: 'skip',
        detail: 'an app (client-credentials) token has no user: GET /me is not for it',
      },
      {
        check: 'membership',
        orgId,
        status: 'skip',
        detail: 'the app client is bound to its organisation by Tallyfy Support; no user to ask',
      },
    );
  } else {
    checks.push(...(await checkUser(api, orgId)));
  }
  checks.push(...(await checkEndpointClasses(deps, api, org, obtained)));
  return checks;
}

async function checkGrant(
  deps: DoctorDeps,
  org: Org,
  credentials: OrgCredentials,
  tokenUrl: string | undefined,
): Promise<{ checks: DoctorCheck[]; obtained?: Obtained }> {
  const orgId = org.orgId;
  const setting =
    org.tokenUrl !== undefined
      ? `the org's own token URL (tallyfy-serverless orgs set-oauth-url ${orgId} <url>|default)`
      : tokenUrlSetting(deps.targetKind);
  if (tokenUrl === undefined && credentials.authMode !== 'personal_access_token') {
    return {
      checks: [
        {
          check: 'grant',
          orgId,
          status: 'fail',
          detail: 'no token URL to post the grant to',
          setting,
          fix: TOKEN_URL_FIX,
        },
      ],
    };
  }
  const oauth = tallyfyOAuth({ baseUrl: deps.tallyfy.baseUrl, tokenUrl, clock: deps.clock });
  const pass = (detail: string, obtained: Obtained, extra: DoctorCheck[] = []) => ({
    checks: [{ check: 'grant', orgId, status: 'pass' as const, detail }, ...extra],
    obtained,
  });
  try {
    switch (credentials.authMode) {
      case 'password': {
        const { clientId, clientSecret, username, password } = credentials;
        if (username === undefined || password === undefined) {
          // only a refresh token: spending it here would rotate it under the refresher
          const stored = await deps.tokenStore.readToken(orgId);
          const detail =
            'only a refresh token is stored: not spent here (it rotates); the stored access token is checked instead';
          if (stored === undefined) {
            return {
              checks: [
                {
                  check: 'grant',
                  orgId,
                  status: 'skip',
                  detail: `${detail}, and there is none yet`,
                },
              ],
            };
          }
          return {
            checks: [{ check: 'grant', orgId, status: 'skip', detail }],
            obtained: { token: stored.accessToken, scope: 'user' },
          };
        }
        const set = await oauth.passwordGrant({ clientId, clientSecret, username, password });
        return pass(`password grant accepted at ${tokenUrl}`, {
          token: set.accessToken,
          scope: 'user',
        });
      }
      case 'client_credentials': {
        const set = await oauth.clientCredentialsGrant({
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
        });
        return pass(`client_credentials grant accepted at ${tokenUrl}: an app token`, {
          token: set.accessToken,
          scope: 'app',
        });
      }
      case 'app_user_token': {
        const app = await oauth.clientCredentialsGrant({
          clientId: credentials.appClientId,
          clientSecret: credentials.appClientSecret,
        });
        const user = await oauth.mintAppUserToken({
          appToken: app.accessToken,
          orgId,
          email: credentials.email,
        });
        return pass(
          `client_credentials grant accepted at ${tokenUrl}, and the app minted a user token`,
          { token: user.accessToken, scope: 'user' },
          [
            {
              check: 'app_endpoints',
              orgId,
              status: 'pass',
              detail:
                'application management (POST /applications/…/users/{email}/token) serves the app token',
            },
          ],
        );
      }
      case 'personal_access_token': {
        await oauth.validatePersonalAccessToken(credentials.token);
        return pass('the personal access token is accepted (GET /me)', {
          token: credentials.token,
          scope: 'user',
        });
      }
    }
  } catch (error) {
    return { checks: [grantFailure(orgId, error, setting)] };
  }
}

function grantFailure(orgId: string, error: unknown, tokenUrlSetting: string): DoctorCheck {
  const code = errorCodeOf(error, 'unknown');
  const base = { check: 'grant', orgId, status: 'fail' as const };
  if (code === 'TALLYFY_OAUTH_ENDPOINT_INVALID' || code === 'TALLYFY_NETWORK_ERROR') {
    return {
      ...base,
      detail: describe(error),
      setting: tokenUrlSetting,
      fix: TOKEN_URL_FIX,
    };
  }
  if (error instanceof OAuthError && error.needsReauth) {
    return {
      ...base,
      detail: describe(error),
      setting: 'the org’s credentials',
      fix: `Register them again: \`tallyfy-serverless orgs remove ${orgId} --purge\`, then \`orgs add ${orgId}\`.`,
    };
  }
  return { ...base, detail: describe(error) };
}

async function checkUser(api: TallyfyApi, orgId: string): Promise<DoctorCheck[]> {
  let email: string | undefined;
  try {
    const me = await api.me();
    email = me.email;
  } catch (error) {
    return [
      {
        check: 'me',
        orgId,
        status: 'fail',
        detail: `GET /me with the token: ${describe(error)}`,
        setting: 'TALLYFY_BASE_URL',
      },
    ];
  }
  const checks: DoctorCheck[] = [
    {
      check: 'me',
      orgId,
      status: 'pass',
      detail: `GET /me answers with the token${email === undefined ? '' : ` (${email})`}`,
    },
  ];
  try {
    const orgs = await api.myOrganizations().all();
    const member = orgs.some((o) => o.id === orgId);
    checks.push(
      member
        ? {
            check: 'membership',
            orgId,
            status: 'pass',
            detail: `the token's user belongs to ${orgId}`,
          }
        : {
            check: 'membership',
            orgId,
            status: 'fail',
            detail: `the token's user is not a member of ${orgId} (their orgs: ${orgs.map((o) => o.id).join(', ') || 'none'})`,
            setting: 'the org id, or the org’s credentials',
            fix: 'Register the org with the credentials of one of its members.',
          },
    );
  } catch (error) {
    checks.push({
      check: 'membership',
      orgId,
      status: 'fail',
      detail: `GET /me/organizations: ${describe(error)}`,
    });
  }
  return checks;
}

/** What needs user-scoped endpoints for this org: its rules' actions, the reconciler, reports. */
export function userScopedNeeds(
  rules: readonly Pick<Rule, 'ruleId' | 'enabled' | 'body'>[],
): string[] {
  const needs: string[] = [];
  for (const rule of rules) {
    if (!rule.enabled) continue;
    let actions: string[];
    try {
      actions = userScopedActions(parseRuleBody(rule.ruleId, rule.body));
    } catch {
      // a rule the worker cannot parse is skipped there too; `rules test` says why
      continue;
    }
    if (actions.length > 0) needs.push(`rule ${rule.ruleId} (${actions.join(', ')})`);
  }
  return [...needs, 'the reconciler', 'the reports'];
}

async function checkEndpointClasses(
  deps: DoctorDeps,
  api: TallyfyApi,
  org: Org,
  obtained: Obtained,
): Promise<DoctorCheck[]> {
  const orgId = org.orgId;
  const rules = await deps.registry.listRules(orgId, { consistent: true });
  const checks: DoctorCheck[] = [];
  if (obtained.scope === 'app') checks.push(appEndpointsCheck(orgId));
  checks.push(await userEndpointsCheck(api, orgId, userScopedNeeds(rules)));
  return checks;
}

/** An app token was obtained: application management serves it (that is what it is for). */
export function appEndpointsCheck(orgId: string): DoctorCheck {
  return {
    check: 'app_endpoints',
    orgId,
    status: 'pass',
    detail: 'application management (/applications/…): what an app token serves',
  };
}

/**
 * Whether the token gets user-scoped data (`GET …/runs`, one item), and who needs it: `needs`
 * from {@link userScopedNeeds} (rules, the reconciler, the reports). An app token refused with a
 * scope error fails when a rule needs the endpoints, else warns (the others skip the org).
 */
export async function userEndpointsCheck(
  api: TallyfyApi,
  orgId: string,
  needs: readonly string[],
): Promise<DoctorCheck> {
  try {
    await api.client.get(`/organizations/${encodeURIComponent(orgId)}/runs`, {
      query: { per_page: 1 },
    });
    return {
      check: 'user_endpoints',
      orgId,
      status: 'pass',
      detail: `user-scoped endpoints (templates, processes, tasks) serve the token; needed by ${needs.join(', ')}`,
    };
  } catch (error) {
    if (error instanceof TallyfyScopeError) {
      const ruleNeeds = needs.filter((n) => n.startsWith('rule '));
      return {
        check: 'user_endpoints',
        orgId,
        // rules that cannot run are a failure; the reconciler and reports skip the org anyway
        status: ruleNeeds.length > 0 ? 'fail' : 'warn',
        detail: `user-scoped endpoints (templates, processes, tasks, /me) refuse this app token (401): ${ruleNeeds.length > 0 ? `${ruleNeeds.join(', ')} cannot run; ` : ''}the reconciler and the reports skip the org`,
        setting: 'the org’s auth mode (client_credentials)',
        fix: `Register it with --auth-mode app_user_token (the app mints a token for a named user): \`tallyfy-serverless orgs remove ${orgId} --purge\`, then \`orgs add ${orgId} --auth-mode app_user_token\`.`,
      };
    }
    return {
      check: 'user_endpoints',
      orgId,
      status: 'fail',
      detail: `GET /organizations/${orgId}/runs: ${describe(error)}`,
    };
  }
}

/** A failure in words a person can act on: our errors' code and message (never a secret). */
function describe(error: unknown): string {
  if (error instanceof TallyfyError) return `${error.code}: ${firstSentence(error.message)}`;
  return error instanceof Error ? error.name : String(error);
}

function firstSentence(text: string): string {
  const end = text.indexOf('. ');
  return end < 0 ? text : text.slice(0, end + 1);
}

const MARK: Record<CheckStatus, string> = {
  pass: 'ok  ',
  fail: 'FAIL',
  warn: 'warn',
  skip: 'skip',
};

/** The token endpoint check for `orgs add`: the URL its grants will use. */
export function tokenEndpointCheck(
  baseUrl: string,
  targetKind: DoctorDeps['targetKind'],
  tokenUrl: string | undefined,
  org: Pick<Org, 'orgId' | 'tokenUrl'>,
): Promise<DoctorCheck> {
  return checkTokenEndpoint({ tallyfy: { baseUrl }, targetKind }, tokenUrl, org);
}

/** Checks as lines for a person: one per check, the setting and fix under a failure. */
export function checkLines(checks: readonly DoctorCheck[]): string[] {
  const lines: string[] = [];
  let org: string | undefined;
  for (const check of checks) {
    if (check.orgId !== org) {
      org = check.orgId;
      if (org !== undefined) lines.push(`Org ${org}:`);
    }
    const indent = check.orgId === undefined ? '' : '  ';
    lines.push(`${indent}${MARK[check.status]}  ${check.check.padEnd(14)} ${check.detail}`);
    if (check.setting !== undefined && check.status !== 'pass') {
      lines.push(
        `${indent}      → change ${check.setting}${check.fix === undefined ? '' : `. ${check.fix}`}`,
      );
    }
  }
  return lines;
}

/** The report as lines for a person: one per check, the fix under a failure, a summary. */
export function doctorLines(report: DoctorReport): string[] {
  const lines = [
    `Tallyfy API ${report.tallyfy.baseUrl}, token endpoint ${report.tallyfy.tokenUrl ?? '(none)'}`,
    ...checkLines(report.checks),
  ];
  const count = (status: CheckStatus) => report.checks.filter((c) => c.status === status).length;
  const total = report.checks.length;
  const others = [
    count('skip') > 0 ? `${count('skip')} skipped` : '',
    count('warn') > 0 ? `${count('warn')} with a warning` : '',
  ].filter(Boolean);
  lines.push(
    count('fail') > 0
      ? `${count('fail')} of ${total} checks failed.`
      : count('pass') === total
        ? `All ${total} checks passed.`
        : `No check failed: ${count('pass')} passed, ${others.join(', ')}.`,
  );
  return lines;
}
