/**
 * The orgs table: orgs, rules, watermarks and event items (ARCHITECTURE.md "Organisations"), and
 * the grants on it, call by call: {@link TABLE_CALLS} says what each data-layer call needs, and
 * each function is granted the calls its code makes, never the whole table.
 *
 * Stateful: its logical id is pinned (`OrgsTable` by default) so moving or renaming this
 * construct never replaces the table, and it is retained on stack deletion unless the caller
 * says otherwise.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type CfnTable,
  type ITable,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { EVENT_PREFIX, ORG_PREFIX } from '../../shared/orgs/keys.ts';
import { ORGS_TABLE_SCHEMA } from '../../shared/orgs/table.ts';
import { grantKeyVia } from './kms.ts';

/**
 * Key and index names of the orgs table: the data layer's own definition
 * (`shared/orgs/table.ts`), which the table below is built from.
 */
export const ORGS_TABLE_KEYS = ORGS_TABLE_SCHEMA;

/** The default CloudFormation logical id of the table, fixed whatever the construct path. */
export const ORGS_TABLE_LOGICAL_ID = 'OrgsTable';

/** A global secondary index of the orgs table. */
export type OrgsTableIndex = keyof typeof ORGS_TABLE_SCHEMA.indexes;

/** The DynamoDB item actions a grant on the orgs table may name (without `dynamodb:`). */
export type TableItemAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

/** One grant on the orgs table: these actions, on these items. */
export interface TableAccess {
  /** What the grant is for (the data-layer call); documentation only. */
  readonly why: string;
  /** DynamoDB actions, without the `dynamodb:` prefix. */
  readonly actions: readonly TableItemAction[];
  /**
   * Only items whose partition key starts with one of these prefixes (condition
   * `dynamodb:LeadingKeys`), such as `EVENT#`. Not with `index` or `Scan`.
   * @default - every item of the table
   */
  readonly keyPrefixes?: readonly string[];
  /**
   * The index queried (only `Query` then) instead of the table.
   * @default - the table
   */
  readonly index?: OrgsTableIndex;
}

/**
 * What each call of the data layer does to the orgs table (`shared/orgs`, `shared/reconcile`,
 * `shared/reports`), with the partition keys it names: `ORG#<orgId>` for org, rule and
 * watermark items, `EVENT#<dedupeKey>` for dedupe claims, seen markers and action records.
 * A function is granted the calls its code makes (see each part's construct), so its policy
 * reads as this list.
 */
export const TABLE_CALLS = {
  // org items (shared/orgs/orgs.ts, leases.ts, watermarks.ts, rules.ts)
  getOrg: {
    why: 'getOrg, and the re-read after a failed conditional write',
    actions: ['GetItem'],
    keyPrefixes: [ORG_PREFIX],
  },
  findWebhookAuth: {
    why: 'findWebhookAuth: status and URL-secret hashes of the org item',
    actions: ['GetItem'],
    keyPrefixes: [ORG_PREFIX],
  },
  listOrgs: {
    why: 'listOrgs: org items from the byKind index (never a Scan)',
    actions: ['Query'],
    index: 'byKind',
  },
  queryDue: {
    why: 'queryDue: due orgs from the byRefreshDue index',
    actions: ['Query'],
    index: 'byRefreshDue',
  },
  leaseAndRecord: {
    why: 'acquireLease, releaseLease, recordRefreshSuccess/Failure, scheduleRefresh: conditional UpdateItem of the org item',
    actions: ['UpdateItem'],
    keyPrefixes: [ORG_PREFIX],
  },
  listRules: {
    why: "listRules: Query of the org's partition (RULE# items)",
    actions: ['Query'],
    keyPrefixes: [ORG_PREFIX],
  },
  getWatermark: {
    why: 'getWatermark: GetItem of ORG#<org>/WATERMARK#<stream>',
    actions: ['GetItem'],
    keyPrefixes: [ORG_PREFIX],
  },
  advanceWatermark: {
    why: 'advanceWatermark: conditional UpdateItem of the watermark',
    actions: ['UpdateItem'],
    keyPrefixes: [ORG_PREFIX],
  },
  orgState: {
    why: "getOrgState, setOrgState: GetItem and UpdateItem of ORG#<org>/STATE#<part> (the reporter's deferred periods)",
    actions: ['GetItem', 'UpdateItem'],
    keyPrefixes: [ORG_PREFIX],
  },
  runCursor: {
    why: 'getRunCursor, setRunCursor: GetItem and UpdateItem of ORG##<part>/CURSOR (where a scheduled round over the orgs resumes)',
    actions: ['GetItem', 'UpdateItem'],
    keyPrefixes: [ORG_PREFIX],
  },
  // event items (shared/orgs/events.ts, shared/reconcile/seen.ts)
  claimEvent: {
    why: 'claimEvent: conditional PutItem of the dedupe claim',
    actions: ['PutItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  getEvent: {
    why: 'getEvent, getAction: GetItem of a claim or action record',
    actions: ['GetItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  updateEvent: {
    why: 'markEvent, touchEvent, beginAction, completeAction: UpdateItem of a claim or action record',
    actions: ['UpdateItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  abandonAction: {
    why: 'abandonAction: DeleteItem of an action record whose attempt is given up',
    actions: ['DeleteItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  markSeenOne: {
    why: 'markSeen of one event (the receiver, after each enqueue): PutItem of EVENT#<key>/SEEN',
    actions: ['PutItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  markSeen: {
    why: 'markSeen of recovered events: PutItem, or BatchWriteItem of 25 markers',
    actions: ['PutItem', 'BatchWriteItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  findSeen: {
    why: 'findSeen: BatchGetItem of seen markers',
    actions: ['BatchGetItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  traceEvents: {
    why: "trace: BatchGetItem of seen markers and the worker's claims together (an event's outcome)",
    actions: ['BatchGetItem'],
    keyPrefixes: [EVENT_PREFIX],
  },
  // reports (shared/reports/event-figures.ts)
  eventFigures: {
    why: 'event figures of the reports: one filtered Scan of the claims per period',
    actions: ['Scan'],
  },
} as const satisfies Record<string, TableAccess>;

/** A call of {@link TABLE_CALLS}. */
export type TableCall = keyof typeof TABLE_CALLS;

/**
 * Read-only access to org, rule, watermark and event items and both indexes: for a function of
 * yours that reads the registry (`addFunction(…).bindTable(table, ORGS_TABLE_READ_ONLY)`).
 */
export const ORGS_TABLE_READ_ONLY: readonly TableAccess[] = Object.freeze([
  { why: 'read any item', actions: ['GetItem', 'BatchGetItem', 'Query'] },
  { why: 'list orgs', actions: ['Query'], index: 'byKind' },
  { why: 'list due orgs', actions: ['Query'], index: 'byRefreshDue' },
]);

/** Properties of {@link OrgsTable}. */
export interface OrgsTableProps {
  /**
   * Physical table name.
   * @default - generated by CloudFormation (recommended: allows replacement-free renames)
   */
  readonly tableName?: string;
  /**
   * Customer managed KMS key for encryption at rest.
   * @default - the AWS managed key `aws/dynamodb`
   */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * CloudFormation logical id of the table, pinned so that moving the construct never replaces
   * the table. Two tables in one stack need two ids.
   * @default 'OrgsTable'
   */
  readonly logicalId?: string;
}

/**
 * DynamoDB table `pk`/`sk`, on-demand, point-in-time recovery, TTL on `expiresAt`, GSIs
 * `byRefreshDue` (refreshShard, refreshDueAt) and `byKind` (kind, orgId).
 *
 * @example
 * const orgs = new OrgsTable(this, 'Orgs', { encryptionKey: key });
 * orgs.grantCalls(refresherFunction, ['queryDue', 'getOrg', 'leaseAndRecord']);
 */
export class OrgsTable extends Construct {
  /** The table. */
  readonly table: Table;

  constructor(scope: Construct, id: string, props: OrgsTableProps = {}) {
    super(scope, id);
    const logicalId = props.logicalId ?? ORGS_TABLE_LOGICAL_ID;
    if (!/^[A-Za-z][A-Za-z0-9]{0,254}$/.test(logicalId)) {
      throw new Error(
        `OrgsTable: logicalId must be letters and digits, starting with a letter, got "${logicalId}"`,
      );
    }
    const { indexes } = ORGS_TABLE_SCHEMA;
    this.table = new Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: ORGS_TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: ORGS_TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: ORGS_TABLE_SCHEMA.ttlAttribute,
      ...(props.encryptionKey
        ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: TableEncryption.AWS_MANAGED }),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: (props.removalPolicy ?? RemovalPolicy.RETAIN) === RemovalPolicy.RETAIN,
    });
    for (const index of [indexes.byRefreshDue, indexes.byKind]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }
    (this.table.node.defaultChild as CfnTable).overrideLogicalId(logicalId);
  }

  /** The table name (a token until deploy). */
  get tableName(): string {
    return this.table.tableName;
  }

  /** Grants what the named data-layer calls need (and the key, through DynamoDB only). */
  grantCalls(grantee: IGrantable, calls: readonly TableCall[]): Grant {
    return grantTableAccess(grantee, this.table, accessForCalls(calls));
  }

  /** Grants read of every item and both indexes (and decrypt through DynamoDB only). */
  grantReadData(grantee: IGrantable): Grant {
    return grantTableAccess(grantee, this.table, ORGS_TABLE_READ_ONLY);
  }
}

/**
 * Merges the accesses of `calls` into as few as possible: one per index, one per set of key
 * prefixes, with the union of their actions.
 */
export function accessForCalls(calls: readonly TableCall[]): TableAccess[] {
  const merged = new Map<
    string,
    { why: string[]; actions: Set<TableItemAction>; base: TableAccess }
  >();
  for (const call of calls) {
    const access: TableAccess = TABLE_CALLS[call];
    const scan = access.actions.includes('Scan');
    const key = `${access.index ?? ''}|${scan ? 'scan' : ''}|${[...(access.keyPrefixes ?? [])].sort().join(',')}`;
    const entry = merged.get(key) ?? { why: [], actions: new Set(), base: access };
    entry.why.push(call);
    for (const action of access.actions) entry.actions.add(action);
    merged.set(key, entry);
  }
  return [...merged.values()].map(({ why, actions, base }) => ({
    why: why.join(', '),
    actions: [...actions].sort(),
    ...(base.keyPrefixes === undefined ? {} : { keyPrefixes: base.keyPrefixes }),
    ...(base.index === undefined ? {} : { index: base.index }),
  }));
}

/**
 * Grants each access on `table` (any table with the orgs table's indexes): the table or the
 * named index as resource, `dynamodb:LeadingKeys` on the key prefixes, and, when the table has
 * a customer key, the key through DynamoDB only (`kms:ViaService`).
 *
 * @throws Error when an access is malformed (no actions, prefixes with an index or a Scan,
 *   another action than Query on an index)
 */
export function grantTableAccess(
  grantee: IGrantable,
  table: ITable,
  accesses: readonly TableAccess[],
): Grant {
  let writes = false;
  let grant: Grant | undefined;
  for (const access of accesses) {
    checkAccess(access);
    const actions = access.actions.map((action) => `dynamodb:${action}`);
    writes ||= access.actions.some((a) => /Put|Update|Delete|Write/.test(a));
    const resource =
      access.index === undefined
        ? table.tableArn
        : `${table.tableArn}/index/${ORGS_TABLE_SCHEMA.indexes[access.index].name}`;
    const next = Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [resource],
      conditions:
        access.keyPrefixes === undefined
          ? undefined
          : {
              'ForAllValues:StringLike': {
                'dynamodb:LeadingKeys': access.keyPrefixes.map((prefix) => `${prefix}*`),
              },
            },
    });
    grant = grant === undefined ? next : grant.combine(next);
  }
  const keyGrant = grantKeyVia(
    grantee,
    table.encryptionKey,
    'dynamodb',
    writes
      ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']
      : ['kms:Decrypt', 'kms:DescribeKey'],
  );
  if (keyGrant !== undefined) grant = grant === undefined ? keyGrant : grant.combine(keyGrant);
  if (grant === undefined) throw new Error('grantTableAccess: no access given');
  return grant;
}

function checkAccess(access: TableAccess): void {
  if (access.actions.length === 0) {
    throw new Error(`TableAccess "${access.why}": actions must not be empty`);
  }
  if (access.index !== undefined && access.actions.some((a) => a !== 'Query')) {
    throw new Error(`TableAccess "${access.why}": an index only serves Query`);
  }
  const unkeyed = access.index !== undefined || access.actions.includes('Scan');
  if (access.keyPrefixes !== undefined && (unkeyed || access.keyPrefixes.length === 0)) {
    throw new Error(
      `TableAccess "${access.why}": keyPrefixes need table item actions other than Scan, and at least one prefix`,
    );
  }
}
