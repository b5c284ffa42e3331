/**
 * The orgs table as pure data (ARCHITECTURE.md "Organisations"), so the CDK construct mirrors it
 * and local mode and tests create the same table with {@link createOrgsTable}.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

/**
 * Key, index and attribute names of the orgs table. `infra/` builds the table from these and
 * `shared/orgs` reads and writes with them: change them only together with a migration.
 */
export const ORGS_TABLE_SCHEMA = Object.freeze({
  partitionKey: 'pk',
  sortKey: 'sk',
  /** TTL attribute of ephemeral items (dedupe, action records): epoch SECONDS. */
  ttlAttribute: 'expiresAt',
  indexes: Object.freeze({
    /** Sparse: only `active` orgs carry `refreshShard`; queried with `refreshDueAt <= now`. */
    byRefreshDue: Object.freeze({
      name: 'byRefreshDue',
      partitionKey: 'refreshShard',
      sortKey: 'refreshDueAt',
    }),
    /** Sparse: only org items carry `kind` (= `ORG`); lists orgs without a scan. */
    byKind: Object.freeze({ name: 'byKind', partitionKey: 'kind', sortKey: 'orgId' }),
  }),
  /** Every key attribute of the table and its indexes; all strings. */
  attributeTypes: Object.freeze({
    pk: 'S',
    sk: 'S',
    refreshShard: 'S',
    refreshDueAt: 'S',
    kind: 'S',
    orgId: 'S',
  }),
  /** Index projection: ALL (the refresher and the CLI read whole org items from the index). */
  projection: 'ALL',
  /** Value of `kind` on org items. */
  orgKind: 'ORG',
  /** Default number of `byRefreshDue` partitions (`REFRESH#0` … `REFRESH#3`). */
  defaultRefreshShards: 4,
});

function globalSecondaryIndexes(): GlobalSecondaryIndex[] {
  return Object.values(ORGS_TABLE_SCHEMA.indexes).map((index) => ({
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: ORGS_TABLE_SCHEMA.projection },
  }));
}

function attributeDefinitions(names?: readonly string[]): AttributeDefinition[] {
  return Object.entries(ORGS_TABLE_SCHEMA.attributeTypes)
    .filter(([name]) => names === undefined || names.includes(name))
    .map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

/** What {@link createOrgsTable} did. */
export interface CreateOrgsTableResult {
  created: boolean;
  /** Indexes added to a table that existed without them. */
  indexesAdded: string[];
  ttlEnabled: boolean;
}

/**
 * Creates the orgs table (on-demand, keys and GSIs of {@link ORGS_TABLE_SCHEMA}) and enables
 * TTL on `expiresAt`. Idempotent: an existing table is kept, missing indexes are added one at
 * a time, TTL is enabled only when it is not already. For local mode and tests; in AWS the CDK
 * stack owns the table.
 *
 * @example
 * const client = new DynamoDBClient({ endpoint: 'http://127.0.0.1:8000', region: 'us-east-1' });
 * await createOrgsTable(client, 'tallyfy-orgs');
 */
export async function createOrgsTable(
  client: DynamoDBClient,
  tableName: string,
  options: { waitTimeSeconds?: number } = {},
): Promise<CreateOrgsTableResult> {
  const maxWaitTime = options.waitTimeSeconds ?? 60;
  const { partitionKey, sortKey } = ORGS_TABLE_SCHEMA;
  let created = false;
  const indexesAdded: string[] = [];
  const existing = await describe(client, tableName);
  if (existing === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: partitionKey, KeyType: 'HASH' },
            { AttributeName: sortKey, KeyType: 'RANGE' },
          ],
          AttributeDefinitions: attributeDefinitions(),
          GlobalSecondaryIndexes: globalSecondaryIndexes(),
        }),
      );
      created = true;
    } catch (err) {
      // another process created it between our describe and create
      if (!(err instanceof ResourceInUseException)) throw err;
    }
    await waitUntilTableExists({ client, maxWaitTime }, { TableName: tableName });
  } else {
    const present = new Set(existing.map((index) => index.IndexName));
    for (const index of globalSecondaryIndexes()) {
      if (present.has(index.IndexName)) continue;
      const keyNames = (index.KeySchema ?? []).map((key) => key.AttributeName ?? '');
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: attributeDefinitions(keyNames),
          GlobalSecondaryIndexUpdates: [{ Create: index }],
        }),
      );
      indexesAdded.push(index.IndexName ?? '');
      await waitUntilTableExists({ client, maxWaitTime }, { TableName: tableName });
    }
  }
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const ttlStatus = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (ttlStatus !== 'ENABLED' && ttlStatus !== 'ENABLING') {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ORGS_TABLE_SCHEMA.ttlAttribute, Enabled: true },
      }),
    );
  }
  return { created, indexesAdded, ttlEnabled: true };
}

async function describe(
  client: DynamoDBClient,
  tableName: string,
): Promise<{ IndexName?: string | undefined }[] | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.GlobalSecondaryIndexes ?? [];
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}
