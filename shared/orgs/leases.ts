/**
 * The refresher's side of an org: the lease (one writer per org, fenced), the fenced refresh
 * outcome writes, and the due-orgs query on the sparse byRefreshDue index.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { MAX_ERROR_MESSAGE_LENGTH, scrubSecrets } from '../observability/index.ts';
import { LeaseLostError, OrgNotFoundError, VersionConflictError } from './errors.ts';
import { orgKey, refreshShardOf, refreshShards } from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import { bumpVersion, readOrgItem, toOrg, updateOrgItem } from './orgs.ts';
import {
  type DueOrg,
  IsoTimestampSchema,
  type Org,
  type OrgStatus,
  StoredOrgSchema,
  storedOrgObject,
} from './schemas.ts';
import {
  nowIso,
  parseInput,
  parseItem,
  queryPages,
  type RegistryContext,
  run,
  UpdateBuilder,
} from './store.ts';
import { ORGS_TABLE_SCHEMA } from './table.ts';

/** A lease taken by {@link acquireLease}. */
export interface AcquiredLease {
  /** Grows by one on every acquisition; pass it to every fenced write. */
  fence: number;
  /** The org as stored right after the lease was taken (read atomically with it). */
  org: Org;
}

/** Identifies the lease a fenced write claims to hold. */
export interface LeaseClaim {
  fence: number;
  /** Checked too when given. */
  owner?: string | undefined;
}

const LeaseRequestSchema = z.lazy(() =>
  z.object({
    owner: z.string().min(1).max(256),
    durationMs: z
      .number()
      .int()
      .min(1000)
      .max(15 * 60_000),
  }),
);

/**
 * Takes the org's lease when it is free or expired, bumping the fence, in one conditional
 * UpdateItem that returns the fresh org. `null` when another runner holds it.
 */
export async function acquireLease(
  ctx: RegistryContext,
  orgId: string,
  request: { owner: string; durationMs: number },
): Promise<AcquiredLease | null> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const { owner, durationMs } = parseInput(LeaseRequestSchema, request, 'lease request');
  const now = ctx.clock();
  const update = new UpdateBuilder()
    .set('leaseOwner', owner)
    .set('leaseUntil', new Date(now + durationMs).toISOString());
  const fence = update.name('leaseFence');
  update.setExpression(
    `${fence} = if_not_exists(${fence}, ${update.value(0)}) + ${update.value(1)}`,
  );
  const until = update.name('leaseUntil');
  update
    .when('attribute_exists(pk)')
    // a lease is held while now < until
    .when(
      `attribute_not_exists(${until}) OR ${until} <= ${update.value(new Date(now).toISOString())}`,
    );
  const result = await run<AcquiredLease | null>(
    'acquireLease',
    async () => {
      const { Attributes } = await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: orgKey(orgId),
          ...update.build(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      const org = toOrg(Attributes ?? {});
      return { fence: org.lease?.fence ?? 0, org };
    },
    async () => {
      if ((await readOrgItem(ctx, orgId, 'acquireLease')) === undefined) {
        throw new OrgNotFoundError(orgId);
      }
      return null;
    },
  );
  return result;
}

/**
 * Gives the lease back early. Nothing changes when that lease is no longer held (it expired
 * and was taken, or was already released): releasing is then simply unnecessary.
 */
export async function releaseLease(
  ctx: RegistryContext,
  orgId: string,
  lease: { owner: string; fence: number },
): Promise<void> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const update = new UpdateBuilder().remove('leaseOwner').remove('leaseUntil');
  update
    .when(`${update.name('leaseOwner')} = ${update.value(lease.owner)}`)
    .when(`${update.name('leaseFence')} = ${update.value(lease.fence)}`);
  await run(
    'releaseLease',
    async () => {
      await ctx.client.send(
        new UpdateCommand({ TableName: ctx.tableName, Key: orgKey(orgId), ...update.build() }),
      );
    },
    () => undefined,
  );
}

/**
 * A write under the lease: conditional on the fence (and owner) and on the org's status, which
 * decides byRefreshDue membership. The first try assumes `active`; if the status turns out to be
 * another, the write is rebuilt for it (a few tries at most).
 */
async function fencedWrite(
  ctx: RegistryContext,
  operation: string,
  orgId: string,
  claim: LeaseClaim,
  build: (update: UpdateBuilder, status: OrgStatus) => void,
): Promise<Org> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  let status: OrgStatus = 'active';
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const update = new UpdateBuilder();
    build(update, status);
    // the lease ends with this write
    update.remove('leaseOwner').remove('leaseUntil');
    bumpVersion(update, nowIso(ctx));
    update
      .when(`attribute_exists(${update.name('leaseOwner')})`)
      .when(`${update.name('leaseFence')} = ${update.value(claim.fence)}`)
      .when(`${update.name('status')} = ${update.value(status)}`);
    if (claim.owner !== undefined) {
      update.when(`${update.name('leaseOwner')} = ${update.value(claim.owner)}`);
    }
    const outcome = await updateOrgItem<OrgStatus>(ctx, operation, orgId, update, async () => {
      const item = await readOrgItem(ctx, orgId, operation);
      if (item === undefined) throw new OrgNotFoundError(orgId);
      const stored = parseItem(StoredOrgSchema, item);
      const holds =
        stored.leaseOwner !== undefined &&
        stored.leaseFence === claim.fence &&
        (claim.owner === undefined || stored.leaseOwner === claim.owner);
      if (!holds) throw new LeaseLostError(orgId, claim.fence);
      // the lease holds, so the status moved under us (e.g. the CLI disabled the org): rebuild
      return stored.status;
    });
    if (typeof outcome !== 'string') return outcome;
    status = outcome;
  }
  const item = await readOrgItem(ctx, orgId, operation);
  throw new VersionConflictError(orgId, 0, item === undefined ? undefined : toOrg(item).version);
}

/** Places an org in byRefreshDue at `dueAt` when active; takes it out otherwise. */
function scheduleFor(
  update: UpdateBuilder,
  orgId: string,
  status: OrgStatus,
  dueAt: string,
  shards: number,
): void {
  if (status === 'active') {
    update.set('refreshDueAt', dueAt).set('refreshShard', refreshShardOf(orgId, shards));
  } else {
    update.remove('refreshDueAt').remove('refreshShard');
  }
}

const RefreshSuccessSchema = z.lazy(() =>
  z.object({
    fence: z.number().int().nonnegative(),
    owner: z.string().min(1).optional(),
    tokenExpiresAt: IsoTimestampSchema,
    refreshDueAt: IsoTimestampSchema,
    obtainedAt: IsoTimestampSchema,
  }),
);

/**
 * Records a good token under the lease and releases the lease, in one write: expiry, next due
 * time, `lastRefreshAt`, failures reset, `lastError` cleared. A `needs_reauth` org becomes
 * `active` (its credentials just worked); a `disabled` org stays disabled and out of the index.
 * Throws {@link LeaseLostError} when the lease is no longer held with that fence.
 */
export async function recordRefreshSuccess(
  ctx: RegistryContext,
  orgId: string,
  result: {
    fence: number;
    owner?: string | undefined;
    tokenExpiresAt: string;
    refreshDueAt: string;
    obtainedAt: string;
  },
): Promise<Org> {
  const input = parseInput(RefreshSuccessSchema, result, 'refresh result');
  return fencedWrite(ctx, 'recordRefreshSuccess', orgId, input, (update, status) => {
    const next: OrgStatus = status === 'disabled' ? 'disabled' : 'active';
    update
      .set('status', next)
      .set('tokenExpiresAt', input.tokenExpiresAt)
      .set('lastRefreshAt', input.obtainedAt)
      .set('consecutiveFailures', 0)
      .remove('lastError');
    scheduleFor(update, orgId, next, input.refreshDueAt, ctx.shards);
  });
}

/** `lastError.code` of a failure recorded with a code that is not one (a caller's bug). */
export const ERROR_CODE_INVALID = 'ORGS_ERROR_CODE_INVALID';

const RefreshFailureSchema = z.lazy(() =>
  z.object({
    fence: z.number().int().nonnegative(),
    owner: z.string().min(1).optional(),
    error: z.object({ code: z.string(), message: z.string() }),
    needsReauth: z.boolean(),
    retryAt: IsoTimestampSchema,
  }),
);

/**
 * Records a failed refresh under the lease and releases the lease, in one write: `lastError`
 * (scrubbed, cut to 500 characters), failures + 1, and either `needs_reauth` (out of the index
 * until re-activated) or a retry at `retryAt`. Throws {@link LeaseLostError} when the lease is
 * no longer held with that fence.
 */
export async function recordRefreshFailure(
  ctx: RegistryContext,
  orgId: string,
  result: {
    fence: number;
    owner?: string | undefined;
    error: { code: string; message: string };
    needsReauth: boolean;
    retryAt: string;
  },
): Promise<Org> {
  const input = parseInput(RefreshFailureSchema, result, 'refresh failure');
  const lastError = {
    // a code is stored as given when it looks like one; anything else would be shown as is
    code: /^[A-Za-z0-9_.-]{1,64}$/.test(input.error.code) ? input.error.code : ERROR_CODE_INVALID,
    message: scrubSecrets(input.error.message).slice(0, MAX_ERROR_MESSAGE_LENGTH),
    at: nowIso(ctx),
  };
  return fencedWrite(ctx, 'recordRefreshFailure', orgId, input, (update, status) => {
    const next: OrgStatus =
      status === 'disabled' ? 'disabled' : input.needsReauth ? 'needs_reauth' : status;
    const failures = update.name('consecutiveFailures');
    update
      .set('status', next)
      .set('lastError', lastError)
      .setExpression(`${failures} = ${failures} + ${update.value(1)}`);
    scheduleFor(update, orgId, next, input.retryAt, ctx.shards);
  });
}

const DueOrgSchema = z.lazy(() =>
  storedOrgObject()
    .pick({ orgId: true, authMode: true, tokenExpiresAt: true })
    .extend({ refreshDueAt: IsoTimestampSchema }),
);

/** What {@link queryDue} found. */
export interface DueOrgs {
  /** Most overdue first, at most `limit`. */
  orgs: DueOrg[];
  orgIds: string[];
  /** Index items read across all shards: grows with the orgs due, not the orgs registered. */
  itemsRead: number;
  /** The soonest `tokenExpiresAt` among the orgs returned. */
  soonestExpiresAt?: string | undefined;
}

/**
 * The active orgs whose `refreshDueAt <= now`: one Query per byRefreshDue shard (in parallel,
 * paginated, each stopping at `limit`), never a Scan. The index is eventually consistent: an
 * org refreshed a moment ago may show up once more, which its lease and the refresher's own
 * due check make harmless.
 */
export async function queryDue(
  ctx: RegistryContext,
  now: string,
  options: { limit?: number } = {},
): Promise<DueOrgs> {
  const nowText = parseInput(IsoTimestampSchema, now, 'now');
  const limit = parseInput(z.number().int().min(1).max(100_000), options.limit ?? 1000, 'limit');
  const { name, partitionKey, sortKey } = ORGS_TABLE_SCHEMA.indexes.byRefreshDue;
  const perShard = await Promise.all(
    refreshShards(ctx.shards).map(async (shard) => {
      const found: DueOrg[] = [];
      let itemsRead = 0;
      const pages = queryPages(ctx, 'queryDue', {
        IndexName: name,
        KeyConditionExpression: '#shard = :shard AND #due <= :now',
        ExpressionAttributeNames: {
          '#shard': partitionKey,
          '#due': sortKey,
          '#orgId': 'orgId',
          '#expires': 'tokenExpiresAt',
          '#authMode': 'authMode',
        },
        ExpressionAttributeValues: { ':shard': shard, ':now': nowText },
        ProjectionExpression: '#orgId, #due, #expires, #authMode',
        Limit: limit,
      });
      for await (const page of pages) {
        itemsRead += page.ScannedCount ?? 0;
        for (const item of page.Items ?? []) {
          found.push(parseItem(DueOrgSchema, { pk: `index ${name}`, sk: shard, ...item }));
        }
        // the earliest `limit` of the shard are all a run can use: read no further page
        if (found.length >= limit) break;
      }
      return { found: found.slice(0, limit), itemsRead };
    }),
  );
  const orgs = perShard
    .flatMap((shard) => shard.found)
    .sort((a, b) =>
      a.refreshDueAt < b.refreshDueAt ? -1 : a.refreshDueAt > b.refreshDueAt ? 1 : 0,
    )
    .slice(0, limit);
  const expiries = orgs.flatMap((org) =>
    org.tokenExpiresAt === undefined ? [] : [org.tokenExpiresAt],
  );
  return {
    orgs,
    orgIds: orgs.map((org) => org.orgId),
    itemsRead: perShard.reduce((sum, shard) => sum + shard.itemsRead, 0),
    soonestExpiresAt: expiries.sort()[0],
  };
}
