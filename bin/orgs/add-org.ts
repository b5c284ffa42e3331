/**
 * Registering an org: check the credentials with a real grant against Tallyfy, and only then
 * store anything (credentials secret, token secret, org item). The grant used for the check is
 * kept as the credentials' `lastGrant` (and, for the password grant, its refresh token), so the
 * refresher's first run copies it into the token secret instead of spending another grant.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { errorCodeOf } from '../../shared/error-codes.ts';
import {
  type AuthMode,
  ORG_ID_RULE,
  type Org,
  OrgIdSchema,
  type OrgRegistry,
  TokenUrlSchema,
} from '../../shared/orgs/index.ts';
import type { Secret } from '../../shared/secret.ts';
import {
  clientCredentialsGrant,
  createTallyfyClient,
  mintAppUserToken,
  OAuthError,
  type OAuthOptions,
  passwordGrant,
  staticToken,
  TallyfyApi,
  type TokenSet,
  validatePersonalAccessToken,
} from '../../shared/tallyfy/index.ts';
import type { CredentialsInput, LastGrant, TokenStore } from '../../shared/tokens/index.ts';
import {
  appEndpointsCheck,
  type DoctorCheck,
  tokenEndpointCheck,
  userEndpointsCheck,
  userScopedNeeds,
} from '../doctor.ts';
import { CliError } from '../errors.ts';
import { explainGrant } from '../explain.ts';
import type { SecretKey } from '../secret-input.ts';
import { newWebhookSecret, webhookUrl } from '../webhook-url.ts';

/** The documented life of a personal access token (the refresher assumes the same). */
export const PAT_LIFETIME_DAYS = 182;

export interface AddOrgInput {
  orgId: string;
  /** @default the org's name in Tallyfy (or the org id when the grant has no user) */
  name?: string | undefined;
  authMode: AuthMode;
  clientId?: string | undefined;
  username?: string | undefined;
  appClientId?: string | undefined;
  email?: string | undefined;
  /** When the personal access token was issued. @default now */
  issuedAt?: string | undefined;
  timezone?: string | undefined;
  /** The org's own OAuth token endpoint (stored with the org). @default the deployment's */
  tokenUrl?: string | undefined;
  secrets: Partial<Record<SecretKey, Secret>>;
}

export interface AddOrgDeps {
  registry: OrgRegistry;
  tokenStore: TokenStore;
  tallyfyBaseUrl: string;
  /** The deployment's token endpoint; `undefined` when none is configured or derivable. */
  tallyfyTokenUrl: string | undefined;
  /** Where the deployment's settings live, to name them in a failed check. @default 'local' */
  targetKind?: 'local' | 'stack';
  webhookBaseUrl: string;
  clock: () => number;
}

export interface AddOrgResult {
  org: Org;
  /** Shown once: only its hash is stored. */
  webhookUrl: Secret;
  /** What the check found. */
  validation: {
    grant: 'password' | 'client_credentials' | 'personal_access_token' | 'app_user_token';
    userEmail?: string | undefined;
    /** `false` for client credentials (no user to ask for memberships). */
    membershipChecked: boolean;
    /** `app` for client credentials: application-management endpoints only. */
    tokenScope: 'app' | 'user';
    /** What was probed, line by line, as `doctor` reports it. */
    checks: DoctorCheck[];
  };
}

const text = z.string().trim().min(1);
const InputSchema = z.discriminatedUnion('authMode', [
  z.object({ authMode: z.literal('password'), clientId: text, username: text }),
  z.object({ authMode: z.literal('client_credentials'), clientId: text }),
  z.object({
    authMode: z.literal('personal_access_token'),
    issuedAt: z.iso.datetime({ offset: true }).optional(),
  }),
  z.object({ authMode: z.literal('app_user_token'), appClientId: text, email: z.email() }),
]);

/** Which fields each auth mode needs (for prompts and messages). */
export const PLAIN_FIELDS_OF: Readonly<
  Record<AuthMode, readonly ('clientId' | 'username' | 'appClientId' | 'email')[]>
> = {
  password: ['clientId', 'username'],
  client_credentials: ['clientId'],
  personal_access_token: [],
  app_user_token: ['appClientId', 'email'],
};

function need(secrets: AddOrgInput['secrets'], key: SecretKey, mode: AuthMode): Secret {
  const value = secrets[key];
  if (value === undefined || value.reveal() === '') {
    throw new CliError('CLI_INPUT_INVALID', `Auth mode ${mode} needs the secret ${key}.`);
  }
  return value;
}

function check(input: AddOrgInput): void {
  if (input.tokenUrl !== undefined && !TokenUrlSchema.safeParse(input.tokenUrl).success) {
    throw new CliError(
      'CLI_INPUT_INVALID',
      '--org-oauth-url must be an http(s) URL without credentials.',
    );
  }
  const org = OrgIdSchema.safeParse(input.orgId);
  if (!org.success) {
    throw new CliError('CLI_INPUT_INVALID', `The org id must be ${ORG_ID_RULE}.`, {
      hint: 'It is the id in your Tallyfy URL: https://go.tallyfy.com/<orgId>/…',
    });
  }
  const parsed = InputSchema.safeParse(input);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || 'authMode');
    throw new CliError(
      'CLI_INPUT_INVALID',
      `Auth mode ${input.authMode} needs valid ${[...new Set(fields)].join(', ')}.`,
    );
  }
}

interface Validated {
  credentials: CredentialsInput;
  orgName?: string | undefined;
  userEmail?: string | undefined;
  membershipChecked: boolean;
}

/** Performs the grant(s) for the input; throws CliError (exit 5 or 9) when Tallyfy says no. */
export async function validateCredentials(
  input: AddOrgInput,
  deps: Pick<AddOrgDeps, 'tallyfyBaseUrl' | 'tallyfyTokenUrl' | 'clock'>,
): Promise<Validated> {
  // the org's own token endpoint, when given, is the one its grants (this one included) use
  const tokenUrl = input.tokenUrl ?? deps.tallyfyTokenUrl;
  if (tokenUrl === undefined) throw noTokenUrl(deps.tallyfyBaseUrl);
  const oauth: OAuthOptions = { baseUrl: deps.tallyfyBaseUrl, tokenUrl, clock: deps.clock };
  const { orgId, secrets } = input;
  try {
    switch (input.authMode) {
      case 'password': {
        const clientId = input.clientId ?? '';
        const username = input.username ?? '';
        const clientSecret = need(secrets, 'clientSecret', 'password');
        const password = need(secrets, 'password', 'password');
        const grant = await passwordGrant({ clientId, clientSecret, username, password }, oauth);
        const member = await membership(grant.accessToken, orgId, deps.tallyfyBaseUrl);
        return {
          credentials: {
            authMode: 'password',
            orgId,
            clientId,
            clientSecret,
            username,
            password,
            ...(grant.refreshToken === undefined ? {} : { refreshToken: grant.refreshToken }),
            lastGrant: lastGrantOf(grant),
          },
          ...member,
          membershipChecked: true,
        };
      }
      case 'client_credentials': {
        const clientId = input.clientId ?? '';
        const clientSecret = need(secrets, 'clientSecret', 'client_credentials');
        const grant = await clientCredentialsGrant({ clientId, clientSecret }, oauth);
        return {
          credentials: {
            authMode: 'client_credentials',
            orgId,
            clientId,
            clientSecret,
            lastGrant: lastGrantOf(grant),
          },
          membershipChecked: false,
        };
      }
      case 'personal_access_token': {
        const token = need(secrets, 'token', 'personal_access_token');
        await validatePersonalAccessToken(token, oauth);
        const member = await membership(token, orgId, deps.tallyfyBaseUrl);
        const obtainedAt = new Date(deps.clock()).toISOString();
        const issuedAt =
          input.issuedAt === undefined ? obtainedAt : new Date(input.issuedAt).toISOString();
        const expiresAt = new Date(
          Date.parse(issuedAt) + PAT_LIFETIME_DAYS * 86_400_000,
        ).toISOString();
        return {
          credentials: {
            authMode: 'personal_access_token',
            orgId,
            token,
            issuedAt,
            lastGrant: {
              grantId: randomUUID(),
              accessToken: token,
              tokenType: 'Bearer',
              expiresAt,
              obtainedAt,
            },
          },
          ...member,
          membershipChecked: true,
        };
      }
      case 'app_user_token': {
        const appClientId = input.appClientId ?? '';
        const appClientSecret = need(secrets, 'appClientSecret', 'app_user_token');
        const email = input.email ?? '';
        const app = await clientCredentialsGrant(
          { clientId: appClientId, clientSecret: appClientSecret },
          oauth,
        );
        const user = await mintAppUserToken({ appToken: app.accessToken, orgId, email }, oauth);
        const member = await membership(user.accessToken, orgId, deps.tallyfyBaseUrl);
        return {
          credentials: {
            authMode: 'app_user_token',
            orgId,
            appClientId,
            appClientSecret,
            email,
            lastGrant: lastGrantOf(user),
          },
          ...member,
          membershipChecked: true,
        };
      }
    }
  } catch (error) {
    if (error instanceof OAuthError) throw explainGrant(error);
    throw error;
  }
}

/** No token URL: the API root is not a Tallyfy host and none was given. */
export function noTokenUrl(baseUrl: string): CliError {
  return new CliError(
    'CLI_INPUT_INVALID',
    `No OAuth token URL: ${baseUrl} is not one of Tallyfy's API hosts, so the token endpoint cannot be derived from it.`,
    {
      hint: 'Set TALLYFY_TOKEN_URL (or pass --oauth-url <url>) to the token endpoint; `tallyfy-serverless doctor` checks it.',
    },
  );
}

function lastGrantOf(grant: TokenSet): LastGrant {
  return {
    grantId: randomUUID(),
    accessToken: grant.accessToken,
    tokenType: grant.tokenType,
    expiresAt: grant.expiresAt,
    obtainedAt: grant.obtainedAt,
  };
}

/** The token's user must belong to the org: catches a mistyped org id before anything is saved. */
async function membership(
  token: Secret,
  orgId: string,
  baseUrl: string,
): Promise<{ orgName?: string; userEmail?: string }> {
  const api = new TallyfyApi(createTallyfyClient({ auth: staticToken(token), baseUrl }), {
    perPage: 100,
  });
  const me = await api.me();
  const orgs = await api.myOrganizations().all();
  const org = orgs.find((candidate) => candidate.id === orgId);
  if (org === undefined) {
    throw new CliError(
      'CLI_CREDENTIALS_REJECTED',
      `The credentials are valid, but their user${me.email === undefined ? '' : ` ${me.email}`} is not a member of org ${orgId}.`,
      {
        hint: `Their orgs: ${orgs.map((o) => `${o.id} (${o.name})`).join(', ') || 'none'}. Nothing was saved.`,
      },
    );
  }
  return { orgName: org.name, ...(me.email === undefined ? {} : { userEmail: me.email }) };
}

/**
 * Validates, then stores: secrets first, the org item last (the receiver and refresher only see
 * an org once its item exists). A failure after the secrets were created removes them again.
 */
export async function addOrg(deps: AddOrgDeps, input: AddOrgInput): Promise<AddOrgResult> {
  check(input);
  if ((await deps.registry.getOrg(input.orgId)) !== undefined) {
    throw new CliError('CLI_ORG_ALREADY_EXISTS', `Org ${input.orgId} is already registered.`, {
      hint: 'See it with `tallyfy-serverless orgs show`; to start over, `orgs remove` it first.',
    });
  }
  const checks: DoctorCheck[] = [];
  const tokenUrl = input.tokenUrl ?? deps.tallyfyTokenUrl;
  if (input.authMode !== 'personal_access_token') {
    // a token URL that is no token endpoint would read as rejected credentials: say which it is
    const probe = await tokenEndpointCheck(
      deps.tallyfyBaseUrl,
      deps.targetKind ?? 'local',
      tokenUrl,
      { orgId: input.orgId, tokenUrl: input.tokenUrl },
    );
    checks.push(probe);
    if (probe.status === 'fail') {
      throw new CliError(
        'CLI_INPUT_INVALID',
        `The token endpoint does not work: ${probe.detail}.`,
        {
          hint: `Change ${probe.setting}${input.tokenUrl === undefined ? '' : ' (here: --org-oauth-url)'}. ${probe.fix ?? ''} Nothing was saved.`,
          details: { checks },
        },
      );
    }
  }
  const validated = await validateCredentials(input, deps);
  checks.push(...(await probeAfterGrant(deps, input, validated)));
  const { secret, hash } = newWebhookSecret();
  const ids = await deps.tokenStore.createOrgSecrets(input.orgId, validated.credentials);
  let org: Org;
  try {
    org = await deps.registry.createOrg({
      orgId: input.orgId,
      name: input.name ?? validated.orgName ?? input.orgId,
      authMode: input.authMode,
      credentialsSecretId: ids.credentialsSecretName,
      tokenSecretId: ids.tokenSecretName,
      webhookSecretHash: hash,
      ...(input.timezone === undefined ? {} : { timezone: input.timezone }),
      ...(input.tokenUrl === undefined ? {} : { tokenUrl: input.tokenUrl }),
    });
  } catch (error) {
    const cleanup = await deps.tokenStore
      .deleteOrgSecrets(input.orgId, { forceDeleteWithoutRecovery: true })
      .then(
        () => undefined,
        (cleanupError: unknown) => cleanupError,
      );
    if (cleanup === undefined) throw error;
    // secrets left behind would make the next `orgs add` fail (other credentials stored): say so
    throw new CliError(
      'CLI_REMOTE_FAILED',
      `Registering org ${input.orgId} failed, and the secrets created for it could not be removed.`,
      {
        hint: `Delete ${ids.credentialsSecretName} and ${ids.tokenSecretName} (aws secretsmanager delete-secret --force-delete-without-recovery) before adding the org again.`,
        cause: error,
        details: { registration: explainCode(error), cleanup: explainCode(cleanup) },
      },
    );
  }
  return {
    org,
    webhookUrl: webhookUrl(deps.webhookBaseUrl, input.orgId, secret),
    validation: {
      grant: input.authMode,
      userEmail: validated.userEmail,
      membershipChecked: validated.membershipChecked,
      tokenScope: input.authMode === 'client_credentials' ? 'app' : 'user',
      checks,
    },
  };
}

/**
 * The checks the registration proved (grant, `GET /me`, membership), then the endpoint classes
 * the new org's token serves, as `doctor` reports them.
 */
async function probeAfterGrant(
  deps: Pick<AddOrgDeps, 'tallyfyBaseUrl'>,
  input: AddOrgInput,
  validated: Validated,
): Promise<DoctorCheck[]> {
  const orgId = input.orgId;
  const app = input.authMode === 'client_credentials';
  const checks: DoctorCheck[] = [
    { check: 'grant', orgId, status: 'pass', detail: `${input.authMode} grant accepted` },
  ];
  if (app) {
    checks.push(
      {
        check: 'me',
        orgId,
        status: 'skip',
        detail: 'an app (client-credentials) token has no user: GET /me is not for it',
      },
      appEndpointsCheck(orgId),
    );
  } else {
    checks.push(
      {
        check: 'me',
        orgId,
        status: 'pass',
        detail: `GET /me answers with the token${validated.userEmail === undefined ? '' : ` (${validated.userEmail})`}`,
      },
      {
        check: 'membership',
        orgId,
        status: 'pass',
        detail: `the token's user belongs to ${orgId}`,
      },
    );
  }
  const token = validated.credentials.lastGrant?.accessToken;
  if (token === undefined) return checks;
  const api = new TallyfyApi(
    createTallyfyClient({
      auth: staticToken(token, { scope: app ? 'app' : 'user' }),
      baseUrl: deps.tallyfyBaseUrl,
      retry: { maxRetries: 1 },
    }),
  );
  checks.push(await userEndpointsCheck(api, orgId, userScopedNeeds([])));
  return checks;
}

/** The code of a failure for `--json` details (never its message: it may be anything). */
function explainCode(error: unknown): string {
  return errorCodeOf(error, error instanceof Error ? error.name : 'unknown');
}
