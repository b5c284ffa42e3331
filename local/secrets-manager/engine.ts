import { randomBytes, randomUUID } from 'node:crypto';

/*
 * The state and semantics of Secrets Manager for the operations tallyfy-serverless uses, kept
 * apart from HTTP so that the rules (versions, staging labels, ClientRequestToken idempotency,
 * deletion) read in one place. Every rule here follows the AWS API reference; where AWS is
 * silent or we simplify, a comment says so.
 */

/** A failure answered to the client as AWS does: `{"__type": type, "message": message}`. */
export class SecretsManagerFault extends Error {
  override readonly name = 'SecretsManagerFault';
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export interface Tag {
  Key: string;
  Value: string;
}

export interface StoredVersion {
  versionId: string;
  secretString?: string | undefined;
  /** base64, as it travels in JSON */
  secretBinary?: string | undefined;
  /** epoch seconds */
  createdDate: number;
  stages: string[];
}

export interface StoredSecret {
  arn: string;
  name: string;
  description?: string | undefined;
  kmsKeyId?: string | undefined;
  tags: Tag[];
  createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number | undefined;
  /** When the secret is (or was) scheduled to be deleted for good; present = marked for deletion. */
  deletedDate?: number | undefined;
  versions: StoredVersion[];
}

/** The whole state, as persisted. */
export interface EngineState {
  secrets: StoredSecret[];
}

export interface EngineOptions {
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** epoch ms @default Date.now */
  clock?: () => number;
  /** ARN suffixes. @default crypto-random */
  randomSuffix?: () => string;
}

type Json = Record<string, unknown>;

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** AWS deletes versions without a staging label beyond about 100 versions per secret. */
const MAX_VERSIONS = 100;

function randomSuffix(): string {
  const bytes = randomBytes(6);
  let out = '';
  for (const byte of bytes) out += SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length];
  return out;
}

/** The operations this engine answers, by their `X-Amz-Target` name. */
export const OPERATIONS = [
  'CreateSecret',
  'GetSecretValue',
  'BatchGetSecretValue',
  'PutSecretValue',
  'DescribeSecret',
  'ListSecrets',
  'DeleteSecret',
  'RestoreSecret',
  'UpdateSecretVersionStage',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Operations that change state (the server persists after them). */
export const MUTATING: ReadonlySet<string> = new Set([
  'CreateSecret',
  'PutSecretValue',
  'DeleteSecret',
  'RestoreSecret',
  'UpdateSecretVersionStage',
]);

export class SecretsEngine {
  readonly #secrets = new Map<string, StoredSecret>();
  readonly #region: string;
  readonly #accountId: string;
  readonly #clock: () => number;
  readonly #randomSuffix: () => string;

  constructor(options: EngineOptions = {}, state?: EngineState) {
    this.#region = options.region ?? 'us-east-1';
    this.#accountId = options.accountId ?? '000000000000';
    this.#clock = options.clock ?? Date.now;
    this.#randomSuffix = options.randomSuffix ?? randomSuffix;
    for (const secret of state?.secrets ?? []) this.#secrets.set(secret.name, secret);
  }

  /** A deep copy of the state for persistence. */
  snapshot(): EngineState {
    return structuredClone({ secrets: [...this.#secrets.values()] });
  }

  /** Runs one operation; throws {@link SecretsManagerFault} for AWS errors. */
  handle(operation: string, input: Json): Json {
    this.#purgeExpiredDeletions();
    switch (operation as Operation) {
      case 'CreateSecret':
        return this.createSecret(input);
      case 'GetSecretValue':
        return this.getSecretValue(input);
      case 'BatchGetSecretValue':
        return this.batchGetSecretValue(input);
      case 'PutSecretValue':
        return this.putSecretValue(input);
      case 'DescribeSecret':
        return this.describeSecret(input);
      case 'ListSecrets':
        return this.listSecrets(input);
      case 'DeleteSecret':
        return this.deleteSecret(input);
      case 'RestoreSecret':
        return this.restoreSecret(input);
      case 'UpdateSecretVersionStage':
        return this.updateSecretVersionStage(input);
      default:
        throw new SecretsManagerFault(
          'UnknownOperationException',
          `The operation ${operation} is not supported by the local Secrets Manager.`,
        );
    }
  }

  createSecret(input: Json): Json {
    const name = requiredString(input, 'Name');
    if (!NAME_PATTERN.test(name)) {
      throw new SecretsManagerFault(
        'ValidationException',
        "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9/_+=.@-]+$",
      );
    }
    const existing = this.#secrets.get(name);
    if (existing?.deletedDate !== undefined) {
      throw new SecretsManagerFault(
        'InvalidRequestException',
        `You can't create this secret because a secret with this name is already scheduled for deletion.`,
      );
    }
    if (existing) {
      throw new SecretsManagerFault(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const value = secretValue(input, false);
    const now = this.#nowSeconds();
    const secret: StoredSecret = {
      arn: `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:${name}-${this.#randomSuffix()}`,
      name,
      description: optionalString(input, 'Description'),
      kmsKeyId: optionalString(input, 'KmsKeyId'),
      tags: tags(input.Tags),
      createdDate: now,
      lastChangedDate: now,
      versions: [],
    };
    let versionId: string | undefined;
    if (value) {
      versionId = clientRequestToken(input) ?? randomUUID();
      secret.versions.push({ versionId, ...value, createdDate: now, stages: [CURRENT] });
    }
    this.#secrets.set(name, secret);
    return { ARN: secret.arn, Name: name, ...(versionId ? { VersionId: versionId } : {}) };
  }

  getSecretValue(input: Json): Json {
    const secret = this.#readable(requiredString(input, 'SecretId'));
    const version = this.#version(secret, input);
    secret.lastAccessedDate = this.#nowSeconds();
    return versionOutput(secret, version);
  }

  batchGetSecretValue(input: Json): Json {
    const ids = input.SecretIdList;
    const filters = input.Filters;
    if ((ids === undefined) === (filters === undefined)) {
      throw new SecretsManagerFault(
        'InvalidParameterException',
        'Specify either SecretIdList or Filters, not both.',
      );
    }
    const secretIds: string[] = Array.isArray(ids)
      ? ids.map(String)
      : this.#filtered(filters, false).map((secret) => secret.arn);
    if (secretIds.length > 20) {
      throw new SecretsManagerFault(
        'InvalidParameterException',
        'SecretIdList can contain at most 20 secret ids.',
      );
    }
    const values: Json[] = [];
    const errors: Json[] = [];
    for (const secretId of secretIds) {
      try {
        values.push(this.getSecretValue({ SecretId: secretId }));
      } catch (error) {
        if (!(error instanceof SecretsManagerFault)) throw error;
        errors.push({ SecretId: secretId, ErrorCode: error.type, Message: error.message });
      }
    }
    return { SecretValues: values, Errors: errors };
  }

  putSecretValue(input: Json): Json {
    const secret = this.#readable(requiredString(input, 'SecretId'));
    const value = secretValue(input, true);
    // secretValue(…, true) throws a fault when there is no value: this is an invariant check
    if (!value) throw new TypeError('putSecretValue: secretValue(required) returned nothing');
    const versionId = clientRequestToken(input) ?? randomUUID();
    const existing = secret.versions.find((version) => version.versionId === versionId);
    if (existing) {
      // ClientRequestToken idempotency: a retry of the same write is answered, not applied.
      if (
        existing.secretString === value.secretString &&
        existing.secretBinary === value.secretBinary
      ) {
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: existing.versionId,
          VersionStages: [...existing.stages],
        };
      }
      throw new SecretsManagerFault(
        'ResourceExistsException',
        `You can't modify an existing version, you can only create a new version.`,
      );
    }
    const stages = stageList(input.VersionStages) ?? [CURRENT];
    const now = this.#nowSeconds();
    const version: StoredVersion = { versionId, ...value, createdDate: now, stages: [] };
    secret.versions.push(version);
    for (const stage of stages) this.#attach(secret, stage, version);
    secret.lastChangedDate = now;
    this.#dropDeprecated(secret);
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: versionId,
      VersionStages: [...version.stages],
    };
  }

  describeSecret(input: Json): Json {
    const secret = this.#find(requiredString(input, 'SecretId'));
    return { ...summary(secret), VersionIdsToStages: versionsToStages(secret) };
  }

  listSecrets(input: Json): Json {
    const includeDeleted = input.IncludePlannedDeletion === true;
    const maxResults = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
      throw new SecretsManagerFault(
        'ValidationException',
        'MaxResults must be an integer from 1 to 100.',
      );
    }
    const descending = input.SortOrder === 'desc';
    const all = this.#filtered(input.Filters, includeDeleted).sort(
      (a, b) => a.createdDate - b.createdDate || a.name.localeCompare(b.name),
    );
    if (descending) all.reverse();
    const start = decodeNextToken(input.NextToken);
    const page = all.slice(start, start + maxResults);
    const next = start + maxResults < all.length ? encodeNextToken(start + maxResults) : undefined;
    return {
      SecretList: page.map((secret) => ({
        ...summary(secret),
        SecretVersionsToStages: versionsToStages(secret),
      })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  deleteSecret(input: Json): Json {
    const secret = this.#find(requiredString(input, 'SecretId'));
    const force = input.ForceDeleteWithoutRecovery === true;
    const window = input.RecoveryWindowInDays;
    if (force && window !== undefined) {
      throw new SecretsManagerFault(
        'InvalidParameterException',
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    const days = typeof window === 'number' ? window : 30;
    if (!force && (!Number.isInteger(days) || days < 7 || days > 30)) {
      throw new SecretsManagerFault(
        'InvalidParameterException',
        'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
      );
    }
    if (secret.deletedDate !== undefined && !force) {
      throw new SecretsManagerFault(
        'InvalidRequestException',
        `You can't delete secret ${secret.name} that is already scheduled for deletion.`,
      );
    }
    const now = this.#nowSeconds();
    const deletionDate = force ? now : now + days * 86_400;
    if (force) this.#secrets.delete(secret.name);
    else secret.deletedDate = deletionDate;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: deletionDate };
  }

  restoreSecret(input: Json): Json {
    const secret = this.#find(requiredString(input, 'SecretId'));
    delete secret.deletedDate;
    return { ARN: secret.arn, Name: secret.name };
  }

  updateSecretVersionStage(input: Json): Json {
    const secret = this.#readable(requiredString(input, 'SecretId'));
    const stage = requiredString(input, 'VersionStage');
    const removeFrom = optionalString(input, 'RemoveFromVersionId');
    const moveTo = optionalString(input, 'MoveToVersionId');
    const holder = secret.versions.find((version) => version.stages.includes(stage));
    if (removeFrom !== undefined && holder?.versionId !== removeFrom) {
      throw new SecretsManagerFault(
        'InvalidParameterException',
        `The staging label ${stage} is not attached to version ${removeFrom}.`,
      );
    }
    if (moveTo !== undefined) {
      const target = secret.versions.find((version) => version.versionId === moveTo);
      if (!target) {
        throw new SecretsManagerFault(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret version: ${moveTo}.`,
        );
      }
      if (holder && holder !== target && removeFrom === undefined) {
        throw new SecretsManagerFault(
          'InvalidParameterException',
          `The staging label ${stage} is currently attached to version ${holder.versionId}; include RemoveFromVersionId to move it.`,
        );
      }
      this.#attach(secret, stage, target);
    } else if (holder) {
      if (stage === CURRENT) {
        throw new SecretsManagerFault(
          'InvalidParameterException',
          'You can only remove the AWSCURRENT staging label by moving it to another version.',
        );
      }
      holder.stages = holder.stages.filter((label) => label !== stage);
    }
    secret.lastChangedDate = this.#nowSeconds();
    this.#dropDeprecated(secret);
    return { ARN: secret.arn, Name: secret.name };
  }

  /** Puts `stage` on `target`, taking it from its holder; moving AWSCURRENT marks the old one AWSPREVIOUS. */
  #attach(secret: StoredSecret, stage: string, target: StoredVersion): void {
    const holder = secret.versions.find((version) => version.stages.includes(stage));
    if (holder === target) return;
    if (holder) holder.stages = holder.stages.filter((label) => label !== stage);
    target.stages.push(stage);
    if (stage === CURRENT && holder) {
      for (const version of secret.versions) {
        version.stages = version.stages.filter((label) => label !== PREVIOUS);
      }
      holder.stages.push(PREVIOUS);
    }
  }

  #dropDeprecated(secret: StoredSecret): void {
    while (secret.versions.length > MAX_VERSIONS) {
      const oldest = secret.versions.findIndex((version) => version.stages.length === 0);
      if (oldest < 0) return;
      secret.versions.splice(oldest, 1);
    }
  }

  #version(secret: StoredSecret, input: Json): StoredVersion {
    const versionId = optionalString(input, 'VersionId');
    const stage = optionalString(input, 'VersionStage') ?? (versionId ? undefined : CURRENT);
    const version = secret.versions.find(
      (candidate) =>
        (versionId === undefined || candidate.versionId === versionId) &&
        (stage === undefined || candidate.stages.includes(stage)),
    );
    if (!version) {
      const what = versionId
        ? `version ${versionId}${stage ? ` with staging label ${stage}` : ''}`
        : `secret value for staging label: ${stage}`;
      throw new SecretsManagerFault(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified ${what}`,
      );
    }
    return version;
  }

  /** Finds a secret by name, full ARN, or partial ARN (without the random suffix). */
  #find(secretId: string): StoredSecret {
    const byName = this.#secrets.get(secretId);
    if (byName) return byName;
    if (secretId.startsWith('arn:')) {
      for (const secret of this.#secrets.values()) {
        if (secret.arn === secretId || secret.arn.slice(0, -7) === secretId) return secret;
      }
    }
    throw new SecretsManagerFault(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
    );
  }

  /** As {@link #find}, but a secret marked for deletion cannot be read or written (AWS's rule). */
  #readable(secretId: string): StoredSecret {
    const secret = this.#find(secretId);
    if (secret.deletedDate !== undefined) {
      throw new SecretsManagerFault(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    return secret;
  }

  #filtered(filters: unknown, includeDeleted: boolean): StoredSecret[] {
    const parsed = parseFilters(filters);
    return [...this.#secrets.values()].filter(
      (secret) =>
        (includeDeleted || secret.deletedDate === undefined) &&
        parsed.every((filter) => matches(secret, filter)),
    );
  }

  #purgeExpiredDeletions(): void {
    const now = this.#nowSeconds();
    for (const [name, secret] of this.#secrets) {
      if (secret.deletedDate !== undefined && secret.deletedDate <= now) {
        this.#secrets.delete(name);
      }
    }
  }

  #nowSeconds(): number {
    return this.#clock() / 1000;
  }
}

function requiredString(input: Json, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretsManagerFault('InvalidParameterException', `${key} is required.`);
  }
  return value;
}

function optionalString(input: Json, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new SecretsManagerFault('InvalidParameterException', `${key} must be a string.`);
  }
  return value;
}

function clientRequestToken(input: Json): string | undefined {
  const token = optionalString(input, 'ClientRequestToken');
  if (token !== undefined && (token.length < 32 || token.length > 64)) {
    throw new SecretsManagerFault(
      'ValidationException',
      "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64",
    );
  }
  return token;
}

function secretValue(
  input: Json,
  required: boolean,
): { secretString?: string; secretBinary?: string } | undefined {
  const secretString = optionalString(input, 'SecretString');
  const secretBinary = optionalString(input, 'SecretBinary');
  if (secretString !== undefined && secretBinary !== undefined) {
    throw new SecretsManagerFault(
      'InvalidParameterException',
      'You can specify SecretString or SecretBinary, but not both.',
    );
  }
  if (secretString === undefined && secretBinary === undefined) {
    if (required) {
      throw new SecretsManagerFault(
        'InvalidRequestException',
        'You must provide either SecretString or SecretBinary.',
      );
    }
    return undefined;
  }
  if ((secretString ?? secretBinary ?? '').length > 65_536) {
    throw new SecretsManagerFault('ValidationException', 'The secret value exceeds 65536 bytes.');
  }
  return secretString !== undefined ? { secretString } : { secretBinary: secretBinary as string };
}

function stageList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((stage) => typeof stage !== 'string')) {
    throw new SecretsManagerFault(
      'InvalidParameterException',
      'VersionStages must be a list of strings.',
    );
  }
  return [...new Set(value as string[])];
}

function tags(value: unknown): Tag[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new SecretsManagerFault('InvalidParameterException', 'Tags must be a list.');
  }
  return value.map((tag: unknown) => {
    const { Key, Value } = (tag ?? {}) as Json;
    if (typeof Key !== 'string' || typeof Value !== 'string') {
      throw new SecretsManagerFault('InvalidParameterException', 'Each tag needs a Key and Value.');
    }
    return { Key, Value };
  });
}

function versionOutput(secret: StoredSecret, version: StoredVersion): Json {
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
    ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
    VersionStages: [...version.stages],
    CreatedDate: version.createdDate,
  };
}

function summary(secret: StoredSecret): Json {
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
    ...(secret.tags.length > 0 ? { Tags: secret.tags } : {}),
    CreatedDate: secret.createdDate,
    LastChangedDate: secret.lastChangedDate,
    ...(secret.lastAccessedDate !== undefined
      ? { LastAccessedDate: Math.floor(secret.lastAccessedDate / 86_400) * 86_400 }
      : {}),
    ...(secret.deletedDate !== undefined ? { DeletedDate: secret.deletedDate } : {}),
  };
}

/** Only versions with a staging label are listed: AWS treats the others as deprecated. */
function versionsToStages(secret: StoredSecret): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const version of secret.versions) {
    if (version.stages.length > 0) out[version.versionId] = [...version.stages];
  }
  return out;
}

interface Filter {
  key: string;
  values: string[];
}

const FILTER_KEYS = new Set(['name', 'description', 'tag-key', 'tag-value', 'all']);

function parseFilters(value: unknown): Filter[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new SecretsManagerFault('InvalidParameterException', 'Filters must be a list.');
  }
  return value.map((filter: unknown) => {
    const { Key, Values } = (filter ?? {}) as Json;
    if (typeof Key !== 'string' || !FILTER_KEYS.has(Key)) {
      throw new SecretsManagerFault(
        'InvalidParameterException',
        `Filter key must be one of ${[...FILTER_KEYS].join(', ')}.`,
      );
    }
    if (!Array.isArray(Values) || Values.some((v) => typeof v !== 'string')) {
      throw new SecretsManagerFault('InvalidParameterException', 'Filter Values must be strings.');
    }
    return { key: Key, values: Values as string[] };
  });
}

/**
 * AWS: filter values are prefix matches, not case-sensitive; a value starting with `!` negates;
 * several values in one filter are ORed, several filters are ANDed.
 */
function matches(secret: StoredSecret, filter: Filter): boolean {
  const fields = (): string[] => {
    switch (filter.key) {
      case 'name':
        return [secret.name];
      case 'description':
        return [secret.description ?? ''];
      case 'tag-key':
        return secret.tags.map((tag) => tag.Key);
      case 'tag-value':
        return secret.tags.map((tag) => tag.Value);
      default:
        return [
          secret.name,
          secret.description ?? '',
          ...secret.tags.flatMap((tag) => [tag.Key, tag.Value]),
        ];
    }
  };
  const candidates = fields().map((field) => field.toLowerCase());
  const positive = filter.values.filter((value) => !value.startsWith('!'));
  const negative = filter.values.filter((value) => value.startsWith('!'));
  const hit = (prefix: string) =>
    candidates.some((field) => field.startsWith(prefix.toLowerCase()));
  if (negative.some((value) => hit(value.slice(1)))) return false;
  return positive.length === 0 || positive.some(hit);
}

function encodeNextToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function decodeNextToken(token: unknown): number {
  if (token === undefined || token === null) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as Json;
    if (
      typeof parsed.offset === 'number' &&
      Number.isInteger(parsed.offset) &&
      parsed.offset >= 0
    ) {
      return parsed.offset;
    }
  } catch {
    // fall through to the AWS answer for a token it did not issue
  }
  throw new SecretsManagerFault('InvalidNextTokenException', 'The NextToken value is invalid.');
}
