import { createHash, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import {
  type CreateOrgInput,
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
  type OrgRegistry,
} from '../../../shared/orgs/index.ts';

/** A clock tests move by hand. */
export interface TestClock {
  (): number;
  set(iso: string): void;
  advance(ms: number): void;
}

export function testClock(startIso = '2026-03-01T12:00:00.000Z'): TestClock {
  let now = Date.parse(startIso);
  const clock = (() => now) as TestClock;
  clock.set = (iso) => {
    now = Date.parse(iso);
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

/** A fresh orgs table on DynamoDB Local (unique name per call) and a registry over it. */
export async function freshRegistry(
  prefix: string,
  options: { clock?: TestClock; shards?: number } = {},
): Promise<{
  registry: OrgRegistry;
  clock: TestClock;
  tableName: string;
  clients: ReturnType<typeof createOrgsDynamoClients>;
}> {
  const clients = createOrgsDynamoClients({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  await createOrgsTable(clients.client, tableName);
  const clock = options.clock ?? testClock();
  const registry = createOrgRegistry({
    client: clients.document,
    tableName,
    clock,
    ...(options.shards === undefined ? {} : { shards: options.shards }),
  });
  return { registry, clock, tableName, clients };
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A valid org input; override what the test is about. */
export function orgInput(orgId: string, overrides: Partial<CreateOrgInput> = {}): CreateOrgInput {
  return {
    orgId,
    name: `Org ${orgId}`,
    authMode: 'password',
    credentialsSecretId: `tallyfy-serverless/test/orgs/${orgId}/credentials`,
    tokenSecretId: `tallyfy-serverless/test/orgs/${orgId}/token`,
    webhookSecretHash: sha256(`secret-${orgId}`),
    ...overrides,
  };
}

/** Runs `task` over `items` with at most `concurrency` at once. */
export async function inBatches<T>(
  items: T[],
  concurrency: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let offset = 0; offset < items.length; offset += concurrency) {
    await Promise.all(items.slice(offset, offset + concurrency).map(task));
  }
}
