/**
 * Where the CLI operates: local mode (`--local`, the endpoints in `.data/local.json`) or a
 * deployed stack (`--stack`, its CloudFormation outputs, the default AWS credential chain).
 * Clients are created on first use and destroyed by `close()`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
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
import { type AwsLocation, readStackOutputs, requireOutput, STACK_OUTPUTS } from './stack.ts';

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
  return localTarget(file, path, io, clock, options);
}

function shardsFrom(io: CliIo, tableName: string): number {
  // the registry must use the deployment's shard count, or activated orgs land in no shard
  return loadConfig(['orgs'], { ...io.env, ORGS_TABLE: tableName }).orgs.refreshShardCount;
}

/**
 * The token URL: `--oauth-url`, else the target's own (local mode's state), else
 * TALLYFY_TOKEN_URL, else the default for the API root (which may be none).
 */
function tallyfySettings(
  baseUrl: string,
  options: TargetOptions,
  io: CliIo,
  localTokenUrl: string | undefined,
): TallyfySettings {
  if (options.oauthUrl !== undefined) {
    return { baseUrl, tokenUrl: checkedUrl(options.oauthUrl), tokenUrlSource: 'option' };
  }
  if (localTokenUrl !== undefined) {
    return { baseUrl, tokenUrl: localTokenUrl, tokenUrlSource: 'local' };
  }
  const env = (io.env.TALLYFY_TOKEN_URL ?? '').trim();
  if (env !== '') return { baseUrl, tokenUrl: checkedUrl(env), tokenUrlSource: 'env' };
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
  io: CliIo,
  clock: () => number,
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
    label: `local mode (${path})`,
    tallyfyBaseUrl: file.urls.tallyfy.replace(/\/+$/, ''),
    tallyfy: tallyfySettings(
      file.urls.tallyfy.replace(/\/+$/, ''),
      options,
      io,
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
          shards: shardsFrom(io, outputs.OrgsTableName),
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
  return {
    kind: 'stack',
    label: `stack ${stackName}${options.region === undefined ? '' : ` (${options.region})`}`,
    tallyfyBaseUrl,
    tallyfy: tallyfySettings(tallyfyBaseUrl, options, io, undefined),
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
          shards: shardsFrom(io, tableName),
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
    close() {
      dynamo?.client.destroy();
      secrets?.destroy();
      sqs?.destroy();
      lambda?.destroy();
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
