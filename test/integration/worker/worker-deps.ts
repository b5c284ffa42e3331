/**
 * Builds the event worker's real dependencies over local engines: the org registry on
 * DynamoDB Local, the token store on the local Secrets Manager (real SDK client), the Tallyfy
 * client against the sandbox. Used by the tests, by the crashing child process and by the
 * bench; no vitest import here (the child runs it with plain node + tsx).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EventWorkerDeps } from '../../../functions/event-worker/handler.ts';
import {
  type CodeAutomation,
  type CustomEventPublisher,
  createSigningSecrets,
  type DeadLetterSink,
  type MessageDeferral,
  type MessageVisibility,
  memoryCustomEventPublisher,
} from '../../../shared/automations/index.ts';
import { type EventBus, memoryRawArchive, type RawArchive } from '../../../shared/events/index.ts';
import { createLogger, type Logger, memorySink } from '../../../shared/observability/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  type OrgRegistry,
} from '../../../shared/orgs/index.ts';
import { tallyfyApiPerOrg } from '../../../shared/tallyfy/index.ts';
import {
  createTokenProvider,
  createTokenStore,
  type TokenStore,
} from '../../../shared/tokens/index.ts';

export const SECRET_PREFIX = 'tallyfy-serverless/worker-test';

export interface LocalEndpoints {
  dynamoEndpoint: string;
  tableName: string;
  secretsManagerEndpoint: string;
  tallyfyBaseUrl: string;
}

export function localDynamo(endpoint: string) {
  return createOrgsDynamoClients({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export function localSecretsManager(endpoint: string): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export interface WorkerParts {
  registry: OrgRegistry;
  tokenStore: TokenStore;
  logger: Logger;
  logLines: readonly string[];
  /** `<orgId>:<reason>` of every refresh the worker's token provider asked for. */
  refreshRequests: string[];
  close(): void;
}

/** The registry and token store over local engines. */
export function localParts(
  endpoints: LocalEndpoints,
  clock: () => number,
  secretPrefix = SECRET_PREFIX,
): WorkerParts {
  const { document } = localDynamo(endpoints.dynamoEndpoint);
  const registry = createOrgRegistry({ client: document, tableName: endpoints.tableName, clock });
  const secretsManager = localSecretsManager(endpoints.secretsManagerEndpoint);
  const tokenStore = createTokenStore({ client: secretsManager, prefix: secretPrefix });
  const sink = memorySink();
  const logger = createLogger({ serviceName: 'event-worker', level: 'WARN', sink: sink.sink });
  return {
    registry,
    tokenStore,
    logger,
    logLines: sink.lines,
    refreshRequests: [],
    close() {
      document.destroy();
      secretsManager.destroy();
    },
  };
}

export interface WorkerOptions {
  endpoints: LocalEndpoints;
  bus: EventBus;
  deadLetters: DeadLetterSink;
  visibility: MessageVisibility;
  /** Long Retry-After deferrals (over 30 s, the production client's cap). @default none */
  deferral?: MessageDeferral;
  /** Clock of the registry (action leases, records). @default Date.now */
  clock?: () => number;
  archive?: RawArchive;
  publisher?: CustomEventPublisher;
  code?: readonly CodeAutomation[];
  /** Wraps the registry (the crash test stops the worker right after a side effect). */
  wrapRegistry?: (registry: OrgRegistry) => OrgRegistry;
  /** SECRET_PREFIX of the token store and signing secrets. @default SECRET_PREFIX */
  secretPrefix?: string;
}

/** The worker's dependencies as `functions/event-worker/index.ts` builds them, over local engines. */
export function localWorkerDeps(options: WorkerOptions): {
  deps: EventWorkerDeps;
  parts: WorkerParts;
} {
  const clock = options.clock ?? Date.now;
  const parts = localParts(options.endpoints, clock, options.secretPrefix);
  const registry = options.wrapRegistry ? options.wrapRegistry(parts.registry) : parts.registry;
  const tokens = createTokenProvider({
    store: parts.tokenStore,
    clock: Date.now,
    requestRefresh: async (orgId, reason) => {
      parts.refreshRequests.push(`${orgId}:${reason}`);
      throw new Error('no refresher in this test');
    },
  });
  const secretsManager = localSecretsManager(options.endpoints.secretsManagerEndpoint);
  const deps: EventWorkerDeps = {
    registry,
    ledger: registry,
    archive: options.archive ?? memoryRawArchive(),
    bus: options.bus,
    tallyfy: tallyfyApiPerOrg({
      auth: (orgId) => tokens.forOrg(orgId),
      client: {
        baseUrl: options.endpoints.tallyfyBaseUrl,
        // the same policy as production, with short waits so tests do not sleep for seconds
        retry: { minDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 50 },
      },
    }),
    secrets: createSigningSecrets({
      client: secretsManager,
      prefix: options.secretPrefix ?? SECRET_PREFIX,
      clock,
    }),
    publisher: options.publisher ?? memoryCustomEventPublisher(),
    deadLetters: options.deadLetters,
    visibility: options.visibility,
    ...(options.deferral ? { deferral: { port: options.deferral, thresholdMs: 30_000 } } : {}),
    clock,
    logger: parts.logger,
    ...(options.code ? { code: options.code } : {}),
    actionLeaseMs: 120_000,
    retryDelayMs: () => 1,
    retry: { baseSeconds: 10, maxSeconds: 900 },
  };
  return {
    deps,
    parts: {
      ...parts,
      close() {
        parts.close();
        secretsManager.destroy();
      },
    },
  };
}
