import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import type { ZodType } from 'zod';
import * as z from 'zod';
import { isOrgId, ORG_ID_RULE } from '../orgs/index.ts';
import { MAX_SECRET_PREFIX_LENGTH, orgSecretName, type SecretKind } from '../secret-names.ts';
import {
  SecretConflictError,
  type SecretIssue,
  SecretMalformedError,
  SecretNotFoundError,
  TokenStoreError,
} from './errors.ts';
import {
  type CredentialsInput,
  credentialsSchema,
  type OrgCredentials,
  type OrgToken,
  tokenSchema,
} from './schemas.ts';

/** Staging label of the version Secrets Manager serves by default. */
export const AWSCURRENT = 'AWSCURRENT';
/** Staging label Secrets Manager moves to the version that was current before the last write. */
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** `KmsKeyId` of a CreateSecret, when the store has a key. */
const keyOf = (options: TokenStoreOptions): { KmsKeyId?: string } =>
  options.kmsKeyId === undefined ? {} : { KmsKeyId: options.kmsKeyId };

/** Options of {@link createTokenStore}. */
export interface TokenStoreOptions {
  /**
   * A Secrets Manager client, created once per container. Its retry strategy is the one that
   * backs off on `ThrottlingException` (the SDK's standard strategy: bounded by `maxAttempts`,
   * @default 3 attempts, exponential backoff with full jitter from a 1 s base for throttling).
   */
  client: SecretsManagerClient;
  /** Name prefix, `config.secrets.prefix`, e.g. `tallyfy-serverless/dev` (no trailing `/`). */
  prefix: string;
  /** Epoch ms, stamps `updatedAt` on credentials writes. @default Date.now */
  clock?: () => number;
  /**
   * KMS key new secrets are created with (`config.secrets.kmsKeyId`: the deployment's customer
   * key). Existing secrets keep theirs. @default the AWS managed key `aws/secretsmanager`
   */
  kmsKeyId?: string | undefined;
}

/** Which version to read. @default the version labelled `AWSCURRENT` */
export interface ReadOptions {
  /** e.g. {@link AWSPREVIOUS} to recover the value before the last write. */
  versionStage?: string;
  versionId?: string;
}

export interface WriteOptions {
  /**
   * Idempotency key of this write (32–64 characters; it becomes the version id): a retry with
   * the same key and value creates no new version. Use one per attempt of a logical write.
   */
  clientRequestToken: string;
}

export interface OrgSecretIds {
  credentialsSecretArn: string;
  tokenSecretArn: string;
  credentialsSecretName: string;
  tokenSecretName: string;
}

export interface DeleteOptions {
  /** Delete at once, without a recovery window. @default false */
  forceDeleteWithoutRecovery?: boolean;
  /** Days during which `RestoreSecret` can undo the deletion (7–30). @default 7 */
  recoveryWindowInDays?: number;
}

/** The Secrets Manager adapter for the two secrets of each org. */
export interface TokenStore {
  readonly prefix: string;
  secretName(orgId: string, kind: SecretKind): string;
  /**
   * Creates the org's credentials secret (with `credentials`) and its token secret (empty until
   * the refresher's first write). Idempotent: existing secrets are kept when the stored
   * credentials equal `credentials`; different stored credentials fail with `secret_exists`.
   */
  createOrgSecrets(orgId: string, credentials: CredentialsInput): Promise<OrgSecretIds>;
  readCredentials(orgId: string, options?: ReadOptions): Promise<OrgCredentials>;
  /** Stores a new version labelled AWSCURRENT (its version id is the `clientRequestToken`). */
  writeCredentials(
    orgId: string,
    credentials: CredentialsInput,
    options: WriteOptions,
  ): Promise<void>;
  /** The org's token, or `undefined` when none was written yet (or none at the asked stage). */
  readToken(orgId: string, options?: ReadOptions): Promise<OrgToken | undefined>;
  /** Stores a new version labelled AWSCURRENT (its version id is the `clientRequestToken`). */
  writeToken(orgId: string, token: OrgToken, options: WriteOptions): Promise<void>;
  /** Deletes both secrets; secrets already gone or already scheduled for deletion are fine. */
  deleteOrgSecrets(orgId: string, options?: DeleteOptions): Promise<void>;
}

const TAG_PREFIX = 'tallyfy-serverless';

/**
 * The token store over Secrets Manager: names, schemas, idempotent writes, typed errors.
 * Secret fields live in memory as `Secret`s; `reveal()` happens only in the encode step here.
 *
 * @example
 * const store = createTokenStore({ client: new SecretsManagerClient({}), prefix: 'tallyfy-serverless/prod' });
 * const token = await store.readToken('org5f4e3d2c1b0a');
 * if (token) headers.set('authorization', `${token.tokenType} ${token.accessToken.reveal()}`);
 */
export function createTokenStore(options: TokenStoreOptions): TokenStore {
  const { client, prefix } = options;
  const clock = options.clock ?? Date.now;
  if (!prefix || prefix.endsWith('/') || prefix.length > MAX_SECRET_PREFIX_LENGTH) {
    throw new TypeError(
      `createTokenStore: prefix must be 1-${MAX_SECRET_PREFIX_LENGTH} characters without a trailing "/"`,
    );
  }

  const secretName = (orgId: string, kind: SecretKind): string => {
    if (!isOrgId(orgId)) {
      throw new TokenStoreError(
        'TOKENS_VALUE_INVALID',
        `The org id ${JSON.stringify(orgId.slice(0, 200))} is not usable in a secret name: an org id is ${ORG_ID_RULE}.`,
      );
    }
    return orgSecretName(prefix, orgId, kind);
  };

  /** The secret's JSON text, or `undefined` when the secret exists without a value there. */
  const readText = async (
    orgId: string,
    kind: SecretKind,
    read: ReadOptions,
  ): Promise<{ text: string; versionId: string } | undefined> => {
    const name = secretName(orgId, kind);
    try {
      const out = await client.send(
        new GetSecretValueCommand({
          SecretId: name,
          ...(read.versionId ? { VersionId: read.versionId } : {}),
          ...(read.versionStage ? { VersionStage: read.versionStage } : {}),
        }),
      );
      if (out.SecretString === undefined) {
        throw new SecretMalformedError(
          'TOKENS_SECRET_MALFORMED',
          `The ${kind} secret of org ${orgId} (${name}) holds binary data, not JSON text.`,
          [{ path: '', code: 'not_text' }],
          { orgId, secretName: name },
        );
      }
      return { text: out.SecretString, versionId: out.VersionId ?? '' };
    } catch (error) {
      if (!isAwsError(error, 'ResourceNotFoundException')) throw storeError(error, orgId, name);
      // Not found means either no such secret or no value at that stage: only the first is an error.
      if (await exists(name, orgId)) return undefined;
      throw new SecretNotFoundError(
        `The ${kind} secret of org ${orgId} (${name}) does not exist: register the org first (createOrgSecrets).`,
        { orgId, secretName: name, cause: error },
      );
    }
  };

  const exists = async (name: string, orgId: string): Promise<boolean> => {
    try {
      await client.send(new DescribeSecretCommand({ SecretId: name }));
      return true;
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return false;
      throw storeError(error, orgId, name);
    }
  };

  const put = async (
    orgId: string,
    kind: SecretKind,
    secretString: string,
    clientRequestToken: string,
    sameContent: (storedText: string) => boolean,
  ): Promise<void> => {
    const name = secretName(orgId, kind);
    const attempt = async (): Promise<void> => {
      await client.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: secretString,
          ClientRequestToken: clientRequestToken,
        }),
      );
    };
    try {
      await attempt();
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) {
        // No secret yet (an org registered before its token secret existed): create it with
        // the same token, so a retry of this write still lands on one version.
        try {
          await client.send(
            new CreateSecretCommand({
              Name: name,
              SecretString: secretString,
              ClientRequestToken: clientRequestToken,
              Description: describe(kind, orgId),
              Tags: tags(kind, orgId),
              ...keyOf(options),
            }),
          );
          return;
        } catch (createError) {
          if (!isAwsError(createError, 'ResourceExistsException')) {
            throw storeError(createError, orgId, name);
          }
          return await attempt().catch((retryError: unknown) => {
            throw storeError(retryError, orgId, name);
          });
        }
      }
      if (isAwsError(error, 'ResourceExistsException')) {
        // The token was used before. Same content (but for the store's own `updatedAt`) means
        // this is a retry of a write that succeeded: answer as Secrets Manager would.
        const stored = await readText(orgId, kind, { versionId: clientRequestToken });
        if (stored && sameContent(stored.text)) return;
        throw new SecretConflictError(
          'TOKENS_VERSION_CONFLICT',
          `The ${kind} secret of org ${orgId} already has a version ${clientRequestToken} with a different value: use a new clientRequestToken for a new value.`,
          { orgId, secretName: name, cause: error },
        );
      }
      throw storeError(error, orgId, name);
    }
  };

  const encodeCredentials = (orgId: string, credentials: CredentialsInput): string =>
    encode(credentialsSchema, orgId, 'credentials', {
      ...credentials,
      updatedAt: new Date(clock()).toISOString(),
    });

  const store: TokenStore = {
    prefix,
    secretName,

    async createOrgSecrets(orgId, credentials) {
      assertOrgMatches(orgId, credentials.orgId, 'credentials');
      const credentialsName = secretName(orgId, 'credentials');
      const tokenName = secretName(orgId, 'token');
      const text = encodeCredentials(orgId, credentials);
      const create = async (name: string, kind: SecretKind, value?: string): Promise<string> => {
        try {
          const out = await client.send(
            new CreateSecretCommand({
              Name: name,
              ...(value === undefined ? {} : { SecretString: value }),
              Description: describe(kind, orgId),
              Tags: tags(kind, orgId),
              ...keyOf(options),
            }),
          );
          return out.ARN ?? name;
        } catch (error) {
          if (!isAwsError(error, 'ResourceExistsException')) throw storeError(error, orgId, name);
          const out = await client
            .send(new DescribeSecretCommand({ SecretId: name }))
            .catch((describeError: unknown) => {
              throw storeError(describeError, orgId, name);
            });
          return out.ARN ?? name;
        }
      };
      const credentialsSecretArn = await create(credentialsName, 'credentials', text);
      const stored = await readText(orgId, 'credentials', {});
      if (!stored || !sameIgnoringUpdatedAt(stored.text, text)) {
        throw new SecretConflictError(
          'TOKENS_SECRET_ALREADY_EXISTS',
          `Org ${orgId} already has different credentials stored (${credentialsName}): replace them with writeCredentials, or delete the org first.`,
          { orgId, secretName: credentialsName },
        );
      }
      const tokenSecretArn = await create(tokenName, 'token');
      return {
        credentialsSecretArn,
        tokenSecretArn,
        credentialsSecretName: credentialsName,
        tokenSecretName: tokenName,
      };
    },

    async readCredentials(orgId, read = {}) {
      const stored = await readText(orgId, 'credentials', read);
      if (!stored) {
        const name = secretName(orgId, 'credentials');
        throw new SecretNotFoundError(
          `The credentials secret of org ${orgId} (${name}) has no value${read.versionStage ? ` labelled ${read.versionStage}` : ''}${read.versionId ? ` with version ${read.versionId}` : ''}.`,
          { orgId, secretName: name },
        );
      }
      return decode(
        credentialsSchema,
        stored.text,
        orgId,
        'credentials',
        secretName(orgId, 'credentials'),
      );
    },

    async writeCredentials(orgId, credentials, { clientRequestToken }) {
      assertOrgMatches(orgId, credentials.orgId, 'credentials');
      const text = encodeCredentials(orgId, credentials);
      return put(orgId, 'credentials', text, clientRequestToken, (storedText) =>
        sameIgnoringUpdatedAt(storedText, text),
      );
    },

    async readToken(orgId, read = {}) {
      const stored = await readText(orgId, 'token', read);
      if (!stored) return undefined;
      return decode(tokenSchema, stored.text, orgId, 'token', secretName(orgId, 'token'));
    },

    async writeToken(orgId, token, { clientRequestToken }) {
      assertOrgMatches(orgId, token.orgId, 'token');
      const text = encode(tokenSchema, orgId, 'token', token);
      return put(orgId, 'token', text, clientRequestToken, (storedText) =>
        sameIgnoringUpdatedAt(storedText, text),
      );
    },

    async deleteOrgSecrets(orgId, remove = {}) {
      const force = remove.forceDeleteWithoutRecovery === true;
      for (const kind of ['token', 'credentials'] as const) {
        const name = secretName(orgId, kind);
        try {
          await client.send(
            new DeleteSecretCommand({
              SecretId: name,
              ...(force
                ? { ForceDeleteWithoutRecovery: true }
                : { RecoveryWindowInDays: remove.recoveryWindowInDays ?? 7 }),
            }),
          );
        } catch (error) {
          if (isAwsError(error, 'ResourceNotFoundException')) continue;
          // Already scheduled for deletion: the goal is reached.
          if (isAwsError(error, 'InvalidRequestException') && !force) continue;
          throw storeError(error, orgId, name);
        }
      }
    },
  };
  return store;
}

function describe(kind: SecretKind, orgId: string): string {
  return kind === 'credentials'
    ? `Tallyfy credentials of org ${orgId} (tallyfy-serverless; refresher and CLI only)`
    : `Tallyfy access token of org ${orgId} (tallyfy-serverless; written by the refresher)`;
}

function tags(kind: SecretKind, orgId: string): { Key: string; Value: string }[] {
  return [
    { Key: `${TAG_PREFIX}:orgId`, Value: orgId },
    { Key: `${TAG_PREFIX}:kind`, Value: kind },
  ];
}

function assertOrgMatches(orgId: string, valueOrgId: string, kind: SecretKind): void {
  if (orgId !== valueOrgId) {
    throw new TokenStoreError(
      'TOKENS_VALUE_INVALID',
      `The ${kind} handed for org ${orgId} name org ${valueOrgId}: they must match.`,
      { orgId },
    );
  }
}

function isAwsError(error: unknown, name: string): error is SecretsManagerServiceException {
  return error instanceof SecretsManagerServiceException && error.name === name;
}

/** Maps an SDK failure to the family. AWS error messages name secrets, never their values. */
function storeError(error: unknown, orgId: string, name: string): TokenStoreError {
  if (error instanceof TokenStoreError) return error;
  const context = { orgId, secretName: name, cause: error };
  if (error instanceof SecretsManagerServiceException) {
    switch (error.name) {
      case 'ResourceNotFoundException':
        return new SecretNotFoundError(`Secret ${name} was not found: ${error.message}`, context);
      case 'ThrottlingException':
        return new TokenStoreError(
          'TOKENS_SECRETS_MANAGER_THROTTLED',
          `Secrets Manager throttled ${name} after ${error.$metadata.attempts ?? 1} attempts: lower the concurrency or retry later.`,
          { ...context, retryable: true },
        );
      case 'InvalidRequestException':
        if (/deletion/i.test(error.message)) {
          return new TokenStoreError(
            'TOKENS_SECRET_DELETED',
            `Secret ${name} is scheduled for deletion: restore it (RestoreSecret) or register the org again after it is gone.`,
            context,
          );
        }
    }
    return new TokenStoreError(
      'TOKENS_SECRETS_MANAGER_FAILED',
      `Secrets Manager failed on ${name}: ${error.name}: ${error.message}`,
      { ...context, retryable: error.$fault === 'server' || error.$retryable !== undefined },
    );
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown failure';
  return new TokenStoreError(
    'TOKENS_SECRETS_MANAGER_FAILED',
    `Secrets Manager could not be reached for ${name}: ${message}`,
    { ...context, retryable: true },
  );
}

/** zod issues → where and which check, without messages (a custom error map could quote input). */
function issuesOf(error: z.ZodError): SecretIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    code: issue.code,
    expected:
      'expected' in issue && typeof issue.expected === 'string' ? issue.expected : undefined,
  }));
}

function describeIssues(issues: readonly SecretIssue[]): string {
  return issues
    .slice(0, 5)
    .map(
      (issue) =>
        `${issue.path || '(root)'}: ${issue.code}${issue.expected ? ` (expected ${issue.expected})` : ''}`,
    )
    .join('; ');
}

function decode<S extends ZodType>(
  schema: S,
  text: string,
  orgId: string,
  kind: SecretKind,
  name: string,
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The SyntaxError quotes the text (a secret): keep neither it nor its message.
    throw new SecretMalformedError(
      'TOKENS_SECRET_MALFORMED',
      `The ${kind} secret of org ${orgId} (${name}) is not valid JSON: write it again (the CLI's orgs commands do).`,
      [{ path: '', code: 'invalid_json' }],
      { orgId, secretName: name },
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    throw new SecretMalformedError(
      'TOKENS_SECRET_MALFORMED',
      `The ${kind} secret of org ${orgId} (${name}) does not match its schema: ${describeIssues(issues)}.`,
      issues,
      { orgId, secretName: name },
    );
  }
  const value = parsed.data as { orgId?: unknown };
  if (value.orgId !== orgId) {
    throw new SecretMalformedError(
      'TOKENS_SECRET_MALFORMED',
      `The ${kind} secret of org ${orgId} (${name}) names another org: it was copied from the wrong place.`,
      [{ path: 'orgId', code: 'org_mismatch' }],
      { orgId, secretName: name },
    );
  }
  return parsed.data;
}

function encode<S extends ZodType>(
  schema: S,
  orgId: string,
  kind: SecretKind,
  value: unknown,
): string {
  const result = z.safeEncode(schema, value as z.output<S>);
  if (!result.success) {
    const issues = issuesOf(result.error);
    throw new SecretMalformedError(
      'TOKENS_VALUE_INVALID',
      `The ${kind} to store for org ${orgId} does not match its schema: ${describeIssues(issues)}.`,
      issues,
      { orgId },
    );
  }
  return JSON.stringify(result.data);
}

function sameIgnoringUpdatedAt(aText: string, bText: string): boolean {
  try {
    return canonical(JSON.parse(aText), true) === canonical(JSON.parse(bText), true);
  } catch {
    return false; // unparseable stored text is never "the same" as what we encode
  }
}

function canonical(value: unknown, top = false): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !(top && key === 'updatedAt'))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
