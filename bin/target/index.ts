/**
 * Where the CLI operates: local mode (`--local`, the endpoints in `.data/local.json`) or a
 * deployed stack (`--stack`, its CloudFormation outputs, the default AWS credential chain).
 * Clients are created on first use and destroyed by `close()`.
 */
import { hostname, userInfo } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SECTIONS } from '../../shared/config/sections.ts';
import { readVariable } from '../../shared/config/variable.ts';
import { ConfigError, loadConfig } from '../../shared/config.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  type OrgRegistry,
} from '../../shared/orgs/index.ts';
import { defaultTokenUrl } from '../../shared/tallyfy/index.ts';
import { createTokenStore, type TokenStore } from '../../shared/tokens/index.ts';
import { CliError } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { awsFailure } from './aws-errors.ts';
import {
  assertRunning,
  type LocalFile,
  localFilePath,
  processAlive,
  readLocalFile,
} from './local-file.ts';
import { bucketObjects, directoryObjects, type ObjectReader } from './objects.ts';
import {
  type AwsLocation,
  readStackOutputs,
  requireOutput,
  SECRETS_KEY_OUTPUT,
  STACK_OUTPUTS,
} from './stack.ts';

/** Functions the CLI invokes on demand. */
export type FunctionName = 'token-refresher' | 'reporter' | 'reconciler';

const FUNCTION_OUTPUTS: Record<FunctionName, string> = {
  'token-refresher': STACK_OUTPUTS.tokenRefresherFunction,
  reporter: STACK_OUTPUTS.reporterFunction,
  reconciler: STACK_OUTPUTS.reconcilerFunction,
};

/** Global options that choose the target. */
export interface TargetOptions {
  local?: boolean | undefined;
  stack?: string | undefined;
  region?: string | undefined;
  profile?: string | undefined;
  /** Local mode's data directory. @default '.data' */
  dataDir?: string | undefined;
  /** Tallyfy API root for `--stack` (local mode uses its own). @default TALLYFY_BASE_URL */
  tallyfyUrl?: string | undefined;
  /**
   * `--oauth-url`: Tallyfy's OAuth token endpoint, for either target (a candidate to check with
   * `doctor`). Not `--token-url`: option names with "token" are refused as secret-like.
   * @default local mode's own; with `--stack` TALLYFY_TOKEN_URL, else derived from the API root
   */
  oauthUrl?: string | undefined;
}

/** Where the CLI's Tallyfy settings came from, to name the one a person should change. */
export interface TallyfySettings {
  baseUrl: string;
  /** `undefined` when the API root is not a Tallyfy host and no token URL was given. */
  tokenUrl: string | undefined;
  /** `--oauth-url`, local mode's state, TALLYFY_TOKEN_URL, or the default for the API root. */
  tokenUrlSource: 'option' | 'local' | 'env' | 'derived';
}

export interface Target {
  readonly kind: 'local' | 'stack';
  /** For messages: `local mode (.data/local.json)` / `stack TallyfyProd (eu-west-1)`. */
  readonly label: string;
  readonly tallyfyBaseUrl: string;
  /** The token endpoint the CLI's grants go to (an org's own `tokenUrl` replaces it for that org). */
  readonly tallyfy: TallyfySettings;
  /** Where reports land: local mode's directory, or `s3://<bucket>`; `undefined` when unknown. */
  readonly reportsLocation: string | undefined;
  registry(): OrgRegistry;
  tokenStore(): TokenStore;
  /** `…/hooks`: an org's URL is `<base>/<orgId>/<secret>`. */
  webhookBaseUrl(): string;
  sqs(): SQSClient;
  eventsQueueUrl(): string;
  deadLetterQueueUrl(): string;
  /** Runs a function synchronously with `event` and returns its JSON result. */
  invoke(fn: FunctionName, event: Record<string, unknown>): Promise<unknown>;
  /**
   * Who operates, for replay records and the console's action log: the AWS principal's ARN
   * (STS GetCallerIdentity, which needs no permission) or `<user>@<host>` in local mode.
   */
  operator(): Promise<string>;
  /** The reports (`reports/<orgId>/<day>/<file>`): the reports bucket or local mode's directory. */
  reports(): ObjectReader;
  /** The raw webhook archive (`webhooks/<orgId>/…`): the archive bucket or local mode's directory. */
  archive(): ObjectReader;
  /**
   * Events per minute per org a dead-letter replay may re-send: TALLYFY_REQUESTS_PER_MINUTE of
   * the CLI's environment (set it to the deployment's value), default 100.
   */
  readonly requestsPerMinute: number;
  /** Days an on-demand report covers by default (REPORT_WINDOW_DAYS), as `report run` uses. */
  readonly reportWindowDays: number;
  close(): void;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Chooses and opens the target: `--stack` wins; else local mode, which must have written its
 * file (`--local` without it, or neither option and no file, is an error that says what to do).
 */
export async function resolveTarget(options: TargetOptions, io: CliIo): Promise<Target> {
  if (options.stack !== undefined && options.local === true) {
    throw new CliError('CLI_USAGE', '--local and --stack exclude each other: choose one target.');
  }
  const clock = io.clock ?? Date.now;
  if (options.stack !== undefined) return stackTarget(options.stack, options, io, clock);
  const path = localFilePath(io.cwd, options.dataDir ?? '.data');
  const file = await readLocalFile(path);
  if (file === undefined) {
    throw new CliError(
      'CLI_TARGET_MISSING',
      options.local === true
        ? `Local mode has not written ${path}.`
        : `No target: ${path} does not exist and no --stack was given.`,
      {
        hint: 'Start local mode with `npm start` (in another terminal), or operate a deployed stack with --stack <name> [--region] [--profile].',
      },
    );
  }
  assertRunning(file, path, io.isAlive ?? processAlive);
  return localTarget(file, path, io.env, clock, io.cwd, options);
}

/** A path as people read it: relative to the working directory when it lies below it. */
function shownPath(path: string, cwd: string): string {
  const inside = relative(cwd, path);
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}

/**
 * The target of the local mode whose state file is `path`, for code running inside local mode
 * itself (its `/console` route): the same target the CLI's `--local` opens.
 *
 * @throws CliError when the file is missing or local mode is not running
 */
export async function openLocalTarget(
  path: string,
  env: Env,
  clock: () => number = Date.now,
): Promise<Target> {
  const file = await readLocalFile(path);
  if (file === undefined) {
    throw new CliError('CLI_TARGET_MISSING', `Local mode has not written ${path} yet.`);
  }
  assertRunning(file, path, processAlive);
  return localTarget(file, path, env, clock, process.cwd(), {});
}

type Env = CliIo['env'];

function requestsPerMinuteFrom(env: Env): number {
  return loadConfig(['tallyfy'], env).tallyfy.requestsPerMinute;
}

function reportWindowDaysFrom(env: Env): number {
  return loadConfig(['reports'], { ...env, REPORTS_BUCKET: 'unused-by-the-cli' }).reports
    .windowDays;
}

const localOperator = (): string => `${userInfo().username}@${hostname()}`;

function shardsFrom(env: Env, tableName: string): number {
  // the registry must use the deployment's shard count, or activated orgs land in no shard
  return loadConfig(['orgs'], { ...env, ORGS_TABLE: tableName }).orgs.refreshShardCount;
}

/**
 * The token URL: `--oauth-url`, else the target's own (local mode's state), else
 * TALLYFY_TOKEN_URL, else the default for the API root (which may be none).
 */
function tallyfySettings(
  baseUrl: string,
  options: TargetOptions,
  env: Env,
  localTokenUrl: string | undefined,
): TallyfySettings {
  if (options.oauthUrl !== undefined) {
    return { baseUrl, tokenUrl: checkedUrl(options.oauthUrl), tokenUrlSource: 'option' };
  }
  if (localTokenUrl !== undefined) {
    return { baseUrl, tokenUrl: localTokenUrl, tokenUrlSource: 'local' };
  }
  const fromEnv = (env.TALLYFY_TOKEN_URL ?? '').trim();
  if (fromEnv !== '') return { baseUrl, tokenUrl: checkedUrl(fromEnv), tokenUrlSource: 'env' };
  return { baseUrl, tokenUrl: defaultTokenUrl(baseUrl), tokenUrlSource: 'derived' };
}

/** TALLYFY_BASE_URL (or its default), read alone: a missing token URL is not this command's concern. */
function envBaseUrl(io: CliIo): string {
  const read = readVariable(SECTIONS.tallyfy.baseUrl, io.env);
  if (!read.ok || read.value === undefined) {
    throw new CliError('CLI_INPUT_INVALID', new ConfigError(read.ok ? [] : [read.issue]).message);
  }
  return read.value;
}

function checkedUrl(text: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new CliError('CLI_INPUT_INVALID', `The token URL must be an http(s) URL.`);
  }
  return text;
}

function localTarget(
  file: LocalFile,
  path: string,
  env: Env,
  clock: () => number,
  cwd: string,
  options: TargetOptions,
): Target {
  const region = file.region;
  const { outputs, endpoints } = file;
  let registry: OrgRegistry | undefined;
  let dynamo: ReturnType<typeof createOrgsDynamoClients> | undefined;
  let secrets: SecretsManagerClient | undefined;
  let store: TokenStore | undefined;
  let sqs: SQSClient | undefined;
  const missing = (what: string): CliError =>
    new CliError('CLI_NOT_AVAILABLE', `Local mode (${path}) runs no ${what}.`, {
      hint: 'Restart local mode (`npm start`) from the same checkout as this CLI.',
    });
  return {
    kind: 'local',
    label: `local mode (${shownPath(path, cwd)})`,
    tallyfyBaseUrl: file.urls.tallyfy.replace(/\/+$/, ''),
    tallyfy: tallyfySettings(
      file.urls.tallyfy.replace(/\/+$/, ''),
      options,
      env,
      file.urls.tallyfyToken,
    ),
    reportsLocation: outputs.ReportsDirectory,
    registry() {
      if (registry === undefined) {
        dynamo = createOrgsDynamoClients({
          endpoint: endpoints.dynamodb,
          region,
          credentials: LOCAL_CREDENTIALS,
          maxAttempts: 2,
        });
        registry = createOrgRegistry({
          client: dynamo.document,
          tableName: outputs.OrgsTableName,
          clock,
          shards: shardsFrom(env, outputs.OrgsTableName),
        });
      }
      return registry;
    },
    tokenStore() {
      if (store === undefined) {
        secrets = new SecretsManagerClient({
          endpoint: endpoints.secretsManager,
          region,
          credentials: LOCAL_CREDENTIALS,
          maxAttempts: 2,
        });
        store = createTokenStore({ client: secrets, prefix: outputs.SecretPrefix, clock });
      }
      return store;
    },
    webhookBaseUrl: () => outputs.WebhookBaseUrl.replace(/\/+$/, ''),
    sqs() {
      if (endpoints.sqs === null) throw missing('SQS endpoint');
      sqs ??= new SQSClient({
        endpoint: endpoints.sqs,
        region,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 2,
      });
      return sqs;
    },
    eventsQueueUrl() {
      if (outputs.EventsQueueUrl === null) throw missing('events queue');
      return outputs.EventsQueueUrl;
    },
    deadLetterQueueUrl() {
      if (outputs.DeadLetterQueueUrl === null) throw missing('dead-letter queue');
      return outputs.DeadLetterQueueUrl;
    },
    invoke(fn, event) {
      if (!file.functions.includes(fn)) throw missing(`function ${fn}`);
      return invokeLocal(file.urls.invoke, fn, event);
    },
    operator: async () => localOperator(),
    reports: () =>
      directoryObjects(
        outputs.ReportsDirectory,
        'reports/',
        shownPath(outputs.ReportsDirectory, cwd),
      ),
    archive: () =>
      directoryObjects(outputs.ArchiveDirectory, '', shownPath(outputs.ArchiveDirectory, cwd)),
    requestsPerMinute: requestsPerMinuteFrom(env),
    reportWindowDays: reportWindowDaysFrom(env),
    close() {
      dynamo?.client.destroy();
      secrets?.destroy();
      sqs?.destroy();
    },
  };
}

/**
 * `POST <invoke>/<fn>` with the event. Answers as Lambda Invoke does: the JSON result, or
 * `X-Amz-Function-Error` with `{errorType, errorMessage}` when the handler threw.
 */
export async function invokeLocal(
  invokeUrl: string,
  fn: FunctionName,
  event: Record<string, unknown>,
): Promise<unknown> {
  const url = `${invokeUrl.replace(/\/+$/, '')}/${fn}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
  } catch (error) {
    throw new CliError(
      'CLI_TARGET_UNREACHABLE',
      `Local mode does not answer at ${new URL(url).origin}.`,
      {
        hint: 'Is `npm start` running? It rewrites .data/local.json on every start.',
        cause: error,
      },
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: the status decides what is reported, without quoting the body
    body = undefined;
  }
  const detail = body as
    | { message?: unknown; errorType?: unknown; errorMessage?: unknown }
    | undefined;
  if (!response.ok) {
    throw new CliError(
      response.status === 404 ? 'CLI_NOT_AVAILABLE' : 'CLI_REMOTE_FAILED',
      `The local ${fn} refused: ${typeof detail?.message === 'string' ? detail.message : `HTTP ${response.status}`}`,
    );
  }
  if (response.headers.get('x-amz-function-error') !== null) {
    throw new CliError(
      'CLI_REMOTE_FAILED',
      `The local ${fn} failed: ${String(detail?.errorType ?? 'Error')}: ${String(detail?.errorMessage ?? 'no message')}`,
      { hint: "See local mode's log for the full error." },
    );
  }
  return body;
}

async function stackTarget(
  stackName: string,
  options: TargetOptions,
  io: CliIo,
  clock: () => number,
): Promise<Target> {
  const location: AwsLocation = { region: options.region, profile: options.profile };
  const outputs = await readStackOutputs(stackName, location);
  const output = (key: string) => requireOutput(outputs, key, stackName);
  const aws = {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
  };
  const tallyfyBaseUrl = options.tallyfyUrl?.replace(/\/+$/, '') ?? envBaseUrl(io);
  let registry: OrgRegistry | undefined;
  let dynamo: { client: DynamoDBClient; document: DynamoDBDocumentClient } | undefined;
  let secrets: SecretsManagerClient | undefined;
  let store: TokenStore | undefined;
  let sqs: SQSClient | undefined;
  let lambda: LambdaClient | undefined;
  let s3: S3Client | undefined;
  let operator: Promise<string> | undefined;
  const bucket = (key: string): ObjectReader => {
    s3 ??= new S3Client(aws);
    return bucketObjects(s3, output(key));
  };
  return {
    kind: 'stack',
    label: `stack ${stackName}${options.region === undefined ? '' : ` (${options.region})`}`,
    tallyfyBaseUrl,
    tallyfy: tallyfySettings(tallyfyBaseUrl, options, io.env, undefined),
    reportsLocation:
      outputs[STACK_OUTPUTS.reportsBucket] === undefined
        ? undefined
        : `s3://${outputs[STACK_OUTPUTS.reportsBucket]}`,
    registry() {
      if (registry === undefined) {
        const tableName = output(STACK_OUTPUTS.orgsTable);
        dynamo = dynamoClients(aws);
        registry = createOrgRegistry({
          client: dynamo.document,
          tableName,
          clock,
          shards: shardsFrom(io.env, tableName),
        });
      }
      return registry;
    },
    tokenStore() {
      if (store === undefined) {
        secrets = new SecretsManagerClient(aws);
        store = createTokenStore({
          client: secrets,
          prefix: output(STACK_OUTPUTS.secretPrefix),
          kmsKeyId: outputs[SECRETS_KEY_OUTPUT],
          clock,
        });
      }
      return store;
    },
    webhookBaseUrl: () => output(STACK_OUTPUTS.webhookBaseUrl).replace(/\/+$/, ''),
    sqs() {
      sqs ??= new SQSClient(aws);
      return sqs;
    },
    eventsQueueUrl: () => output(STACK_OUTPUTS.eventsQueueUrl),
    deadLetterQueueUrl: () => output(STACK_OUTPUTS.deadLetterQueueUrl),
    async invoke(fn, event) {
      const functionName = output(FUNCTION_OUTPUTS[fn]);
      lambda ??= new LambdaClient(aws);
      let out: InvokeCommandOutput;
      try {
        out = await lambda.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: 'RequestResponse',
            Payload: new TextEncoder().encode(JSON.stringify(event)),
          }),
        );
      } catch (error) {
        throw awsFailure(error, `invoking ${functionName}`);
      }
      const text = out.Payload === undefined ? '' : new TextDecoder().decode(out.Payload);
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      if (out.FunctionError !== undefined) {
        const detail = body as { errorType?: string; errorMessage?: string } | undefined;
        throw new CliError(
          'CLI_REMOTE_FAILED',
          `${functionName} failed: ${detail?.errorType ?? out.FunctionError}: ${detail?.errorMessage ?? 'no message'}`,
          { hint: `See the function's CloudWatch log group for the full error.` },
        );
      }
      return body;
    },
    operator() {
      operator ??= (async () => {
        const sts = new STSClient(aws);
        try {
          const out = await sts.send(new GetCallerIdentityCommand({}));
          return out.Arn ?? 'unknown AWS principal';
        } catch (error) {
          throw awsFailure(error, 'asking STS who you are');
        } finally {
          sts.destroy();
        }
      })();
      return operator;
    },
    reports: () => bucket(STACK_OUTPUTS.reportsBucket),
    archive: () => bucket(STACK_OUTPUTS.archiveBucket),
    requestsPerMinute: requestsPerMinuteFrom(io.env),
    reportWindowDays: reportWindowDaysFrom(io.env),
    close() {
      dynamo?.client.destroy();
      secrets?.destroy();
      sqs?.destroy();
      lambda?.destroy();
      s3?.destroy();
    },
  };
}

/**
 * The registry's clients for a region and profile: the settings of `createOrgsDynamoClients`
 * (standard retries, 5 attempts, the same marshalling), which has no `profile` option.
 */
function dynamoClients(aws: { region?: string; profile?: string }): {
  client: DynamoDBClient;
  document: DynamoDBDocumentClient;
} {
  if (aws.profile === undefined) return createOrgsDynamoClients({ region: aws.region });
  const client = new DynamoDBClient({ ...aws, retryMode: 'standard', maxAttempts: 5 });
  const document = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { client, document };
}
