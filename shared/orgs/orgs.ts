/**
 * Org items: create, read, list (byKind index), patch with optimistic versions, status with the
 * sparse byRefreshDue membership, removal, webhook secret rotation and lookup.
 */
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { sleep } from '../async.ts';
import {
  OrgAlreadyExistsError,
  OrgNotFoundError,
  StoreError,
  VersionConflictError,
} from './errors.ts';
import { type ItemKey, ORG_PREFIX, orgKey, refreshShardOf } from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import {
  type CreateOrgInput,
  CreateOrgInputSchema,
  IsoTimestampSchema,
  type Org,
  type OrgPatch,
  OrgPatchSchema,
  type OrgStatus,
  OrgStatusSchema,
  Sha256HexSchema,
  StoredOrgSchema,
  storedOrgObject,
  type WebhookAuthRecord,
} from './schemas.ts';
import {
  decodeCursor,
  defined,
  encodeCursor,
  nowIso,
  parseInput,
  parseItem,
  queryPages,
  type RegistryContext,
  run,
  UpdateBuilder,
} from './store.ts';
import { ORGS_TABLE_SCHEMA } from './table.ts';

const { indexes, orgKind } = ORGS_TABLE_SCHEMA;

/** Maps a stored org item to an {@link Org} (the flat lease attributes become `lease`). */
export function toOrg(item: Record<string, unknown>): Org {
  const { leaseOwner, leaseUntil, leaseFence, ...org } = parseItem(StoredOrgSchema, item);
  const held = leaseOwner !== undefined && leaseUntil !== undefined && leaseFence !== undefined;
  return held
    ? { ...org, lease: { owner: leaseOwner, until: leaseUntil, fence: leaseFence } }
    : org;
}

export async function readOrgItem(
  ctx: RegistryContext,
  orgId: string,
  operation: string,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await run(operation, () =>
    ctx.client.send(
      new GetCommand({ TableName: ctx.tableName, Key: orgKey(orgId), ConsistentRead: true }),
    ),
  );
  return Item;
}

/** After a failed `version = :expected` condition: which typed error it was. */
async function versionFailure(
  ctx: RegistryContext,
  orgId: string,
  expectedVersion: number | undefined,
  operation: string,
): Promise<never> {
  const item = await readOrgItem(ctx, orgId, operation);
  if (item === undefined) throw new OrgNotFoundError(orgId);
  if (expectedVersion !== undefined) {
    throw new VersionConflictError(orgId, expectedVersion, toOrg(item).version);
  }
  throw new StoreError(operation, { cause: new Error('condition failed on an existing org') });
}

export async function createOrg(ctx: RegistryContext, input: CreateOrgInput): Promise<Org> {
  const parsed = parseInput(CreateOrgInputSchema, input, 'org');
  const now = nowIso(ctx);
  const status = parsed.status ?? 'active';
  const active = status === 'active';
  const item = defined({
    ...orgKey(parsed.orgId),
    kind: orgKind,
    orgId: parsed.orgId,
    name: parsed.name,
    authMode: parsed.authMode,
    credentialsSecretId: parsed.credentialsSecretId,
    tokenSecretId: parsed.tokenSecretId,
    webhookSecretHash: parsed.webhookSecretHash,
    status,
    tokenExpiresAt: parsed.tokenExpiresAt,
    // a new active org is due at once: the refresher obtains (or checks) its first token
    refreshDueAt: active ? (parsed.refreshDueAt ?? now) : undefined,
    refreshShard: active ? refreshShardOf(parsed.orgId, ctx.shards) : undefined,
    consecutiveFailures: 0,
    leaseFence: 0,
    version: 1,
    createdAt: now,
    updatedAt: now,
    timezone: parsed.timezone,
    tokenUrl: parsed.tokenUrl,
    settings: parsed.settings ?? {},
  });
  await run(
    'createOrg',
    () =>
      ctx.client.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    () => {
      throw new OrgAlreadyExistsError(parsed.orgId);
    },
  );
  return toOrg(item);
}

export async function getOrg(
  ctx: RegistryContext,
  orgId: string,
  options: { consistent?: boolean } = {},
): Promise<Org | undefined> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const { Item } = await run('getOrg', () =>
    ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: orgKey(orgId),
        ConsistentRead: options.consistent ?? true,
      }),
    ),
  );
  return Item === undefined ? undefined : toOrg(Item);
}

/** Options of `listOrgsPage`. */
export interface ListOrgsOptions {
  /** Only orgs in this status (a filter on the byKind query: every org item is still read). */
  status?: OrgStatus | undefined;
  /** Items read per request. @default 100 */
  limit?: number | undefined;
  /** The `cursor` of the previous page. */
  cursor?: string | undefined;
}

/** One page of orgs, in orgId order. */
export interface OrgsPage {
  orgs: Org[];
  /** Pass it back for the next page; absent on the last page. */
  cursor?: string | undefined;
  /** Index items read for this page (the cost; dedupe, rule and watermark items are never read). */
  itemsRead: number;
}

export async function listOrgsPage(
  ctx: RegistryContext,
  options: ListOrgsOptions = {},
): Promise<OrgsPage> {
  const status =
    options.status === undefined
      ? undefined
      : parseInput(OrgStatusSchema, options.status, 'status');
  const limit = parseInput(z.number().int().min(1).max(1000), options.limit ?? 100, 'limit');
  const out = await run('listOrgs', () =>
    ctx.client.send(
      new QueryCommand({
        ...orgsQuery(ctx, status),
        Limit: limit,
        ExclusiveStartKey: decodeCursor(options.cursor),
      }),
    ),
  );
  return {
    orgs: (out.Items ?? []).map(toOrg),
    cursor: encodeCursor(out.LastEvaluatedKey),
    itemsRead: out.ScannedCount ?? 0,
  };
}

/** The byKind query over org items, in `status` when given (a filter: every org item is read). */
function orgsQuery(ctx: RegistryContext, status: OrgStatus | undefined) {
  const query = new UpdateBuilder();
  const keyCondition = `${query.name(indexes.byKind.partitionKey)} = ${query.value(orgKind)}`;
  const filter =
    status === undefined ? undefined : `${query.name('status')} = ${query.value(status)}`;
  const { ExpressionAttributeNames, ExpressionAttributeValues } = query.build();
  return {
    TableName: ctx.tableName,
    IndexName: indexes.byKind.name,
    KeyConditionExpression: keyCondition,
    ...(filter === undefined ? {} : { FilterExpression: filter }),
    ExpressionAttributeNames,
    ExpressionAttributeValues,
  };
}

export async function* listOrgs(
  ctx: RegistryContext,
  options: Omit<ListOrgsOptions, 'cursor'> = {},
): AsyncGenerator<Org, void, undefined> {
  const status =
    options.status === undefined
      ? undefined
      : parseInput(OrgStatusSchema, options.status, 'status');
  const limit = parseInput(z.number().int().min(1).max(1000), options.limit ?? 100, 'limit');
  const query = { ...orgsQuery(ctx, status), Limit: limit };
  for await (const page of queryPages(ctx, 'listOrgs', query)) {
    yield* (page.Items ?? []).map(toOrg);
  }
}

/**
 * How many orgs are in `status` (all orgs when unset): a COUNT query on the byKind index, so
 * only org items are read (never rules, watermarks or event items). The refresher emits the
 * `needs_reauth` count as a gauge every run.
 */
export async function countOrgs(
  ctx: RegistryContext,
  options: { status?: OrgStatus | undefined } = {},
): Promise<number> {
  const status =
    options.status === undefined
      ? undefined
      : parseInput(OrgStatusSchema, options.status, 'status');
  let count = 0;
  for await (const page of queryPages(ctx, 'countOrgs', {
    ...orgsQuery(ctx, status),
    Select: 'COUNT',
  })) {
    count += page.Count ?? 0;
  }
  return count;
}

export async function updateOrg(
  ctx: RegistryContext,
  orgId: string,
  patch: OrgPatch,
  options: { expectedVersion: number },
): Promise<Org> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const fields = parseInput(OrgPatchSchema, patch, 'org patch');
  const expected = parseInput(
    z.number().int().positive(),
    options.expectedVersion,
    'expectedVersion',
  );
  const update = new UpdateBuilder();
  for (const [attribute, value] of Object.entries(fields)) {
    if (value === null) update.remove(attribute);
    else if (value !== undefined) update.set(attribute, value);
  }
  bumpVersion(update, nowIso(ctx));
  update.when('attribute_exists(pk)').when(`${update.name('version')} = ${update.value(expected)}`);
  return updateOrgItem(ctx, 'updateOrg', orgId, update, () =>
    versionFailure(ctx, orgId, expected, 'updateOrg'),
  );
}

/**
 * Sets the status and keeps byRefreshDue membership in step: only `active` orgs carry
 * `refreshShard`/`refreshDueAt`, so the refresher never reads the others.
 */
export async function setStatus(
  ctx: RegistryContext,
  orgId: string,
  status: OrgStatus,
  expectedVersion?: number,
): Promise<Org> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  parseInput(OrgStatusSchema, status, 'status');
  const now = nowIso(ctx);
  const update = new UpdateBuilder().set('status', status);
  if (status === 'active') {
    update.set('refreshShard', refreshShardOf(orgId, ctx.shards));
    // back from needs_reauth/disabled: due at once; already active: keep its schedule
    const due = update.name('refreshDueAt');
    update.setExpression(`${due} = if_not_exists(${due}, ${update.value(now)})`);
    update.set('consecutiveFailures', 0);
  } else {
    update.remove('refreshShard').remove('refreshDueAt');
  }
  bumpVersion(update, now);
  update.when('attribute_exists(pk)');
  if (expectedVersion !== undefined) {
    update.when(`${update.name('version')} = ${update.value(expectedVersion)}`);
  }
  return updateOrgItem(ctx, 'setStatus', orgId, update, () =>
    versionFailure(ctx, orgId, expectedVersion, 'setStatus'),
  );
}

/**
 * Makes an active org due at `refreshDueAt` (e.g. `orgs refresh --now` in the CLI). Returns
 * `undefined` without change when the org is not active (it is not refreshed until re-activated).
 */
export async function scheduleRefresh(
  ctx: RegistryContext,
  orgId: string,
  refreshDueAt: string,
): Promise<Org | undefined> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const update = new UpdateBuilder()
    .set('refreshDueAt', parseInput(IsoTimestampSchema, refreshDueAt, 'refreshDueAt'))
    .set('refreshShard', refreshShardOf(orgId, ctx.shards));
  bumpVersion(update, nowIso(ctx));
  update.when('attribute_exists(pk)').when(`${update.name('status')} = ${update.value('active')}`);
  return updateOrgItem(ctx, 'scheduleRefresh', orgId, update, async () => {
    if ((await readOrgItem(ctx, orgId, 'scheduleRefresh')) === undefined) {
      throw new OrgNotFoundError(orgId);
    }
    return undefined;
  });
}

/**
 * Deletes the org item and every item in its partition (rules, watermarks). The org item goes
 * last, so a removal that fails half-way leaves the org visible and can simply be repeated.
 * Dedupe and action records are left to their TTL.
 */
export async function removeOrg(
  ctx: RegistryContext,
  orgId: string,
): Promise<{ itemsDeleted: number }> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const keys: ItemKey[] = [];
  const pages = queryPages(ctx, 'removeOrg', {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': `${ORG_PREFIX}${orgId}` },
    ProjectionExpression: 'pk, sk',
    ConsistentRead: true,
  });
  for await (const page of pages) {
    for (const item of page.Items ?? []) keys.push({ pk: String(item.pk), sk: String(item.sk) });
  }
  const meta = orgKey(orgId);
  const children = keys.filter((key) => key.sk !== meta.sk);
  await deleteKeys(ctx, children);
  if (children.length < keys.length) await deleteKeys(ctx, [meta]);
  return { itemsDeleted: keys.length };
}

const BATCH_SIZE = 25;
const BATCH_ATTEMPTS = 6;

async function deleteKeys(ctx: RegistryContext, keys: ItemKey[]): Promise<void> {
  for (let offset = 0; offset < keys.length; offset += BATCH_SIZE) {
    let pending = keys
      .slice(offset, offset + BATCH_SIZE)
      .map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > BATCH_ATTEMPTS) {
        throw new StoreError('removeOrg', {
          cause: new Error(
            `${pending.length} deletes still unprocessed after ${BATCH_ATTEMPTS} attempts`,
          ),
        });
      }
      if (attempt > 1) await sleep(50 * 2 ** attempt);
      const requests = pending;
      const out = await run('removeOrg', () =>
        ctx.client.send(new BatchWriteCommand({ RequestItems: { [ctx.tableName]: requests } })),
      );
      pending = (out.UnprocessedItems?.[ctx.tableName] ?? []).flatMap((request) =>
        request.DeleteRequest?.Key === undefined
          ? []
          : [{ DeleteRequest: { Key: request.DeleteRequest.Key as ItemKey } }],
      );
    }
  }
}

/**
 * Installs a new URL-secret hash; the current one stays valid for `graceSeconds` as the
 * previous hash (one previous hash is kept: rotating again ends the earlier grace at once).
 */
export async function rotateWebhookSecret(
  ctx: RegistryContext,
  orgId: string,
  newHash: string,
  options: { graceSeconds: number },
): Promise<Org> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const hash = parseInput(Sha256HexSchema, newHash, 'webhook secret hash');
  const graceSeconds = parseInput(
    z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400),
    options.graceSeconds,
    'graceSeconds',
  );
  const now = ctx.clock();
  const update = new UpdateBuilder();
  if (graceSeconds > 0) {
    update.setExpression(
      `${update.name('previousWebhookSecretHash')} = ${update.name('webhookSecretHash')}`,
    );
    update.set(
      'previousWebhookSecretValidUntil',
      new Date(now + graceSeconds * 1000).toISOString(),
    );
  } else {
    update.remove('previousWebhookSecretHash').remove('previousWebhookSecretValidUntil');
  }
  update.set('webhookSecretHash', hash);
  bumpVersion(update, new Date(now).toISOString());
  update.when('attribute_exists(pk)');
  return updateOrgItem(ctx, 'rotateWebhookSecret', orgId, update, () => {
    throw new OrgNotFoundError(orgId);
  });
}

/** The projection `findWebhookAuth` reads (on the receiver's path for every webhook). */
const WebhookAuthItemSchema = z.lazy(() =>
  storedOrgObject().pick({
    status: true,
    webhookSecretHash: true,
    previousWebhookSecretHash: true,
    previousWebhookSecretValidUntil: true,
  }),
);

/**
 * What the webhook receiver needs, in one eventually consistent GetItem of four attributes:
 * the status and the hashes valid now (current, plus previous inside its grace window).
 * `undefined` for an unknown org.
 */
export async function findWebhookAuth(
  ctx: RegistryContext,
  orgId: string,
): Promise<WebhookAuthRecord | undefined> {
  if (!OrgIdSchema.safeParse(orgId).success) return undefined;
  const { Item } = await run('findWebhookAuth', () =>
    ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: orgKey(orgId),
        ProjectionExpression: '#status, #current, #previous, #validUntil',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#current': 'webhookSecretHash',
          '#previous': 'previousWebhookSecretHash',
          '#validUntil': 'previousWebhookSecretValidUntil',
        },
      }),
    ),
  );
  if (Item === undefined) return undefined;
  const item = parseItem(WebhookAuthItemSchema, {
    pk: orgKey(orgId).pk,
    sk: orgKey(orgId).sk,
    ...Item,
  });
  const hashes = [item.webhookSecretHash];
  const until = Date.parse(item.previousWebhookSecretValidUntil ?? '');
  if (item.previousWebhookSecretHash !== undefined && until > ctx.clock()) {
    hashes.push(item.previousWebhookSecretHash);
  }
  return { status: item.status, hashes };
}

export function bumpVersion(update: UpdateBuilder, now: string): void {
  const version = update.name('version');
  update.setExpression(`${version} = ${version} + ${update.value(1)}`);
  update.set('updatedAt', now);
}

/** One UpdateItem on the org item returning ALL_NEW; a failed condition goes to `onFailed`. */
export async function updateOrgItem<T = Org>(
  ctx: RegistryContext,
  operation: string,
  orgId: string,
  update: UpdateBuilder,
  onFailed: () => Promise<T> | T,
): Promise<Org | T> {
  return run<Org | T>(
    operation,
    async () => {
      const { Attributes } = await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: orgKey(orgId),
          ...update.build(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toOrg(Attributes ?? {});
    },
    onFailed,
  );
}
