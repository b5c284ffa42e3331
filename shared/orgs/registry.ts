/**
 * The org registry on DynamoDB: one object over the orgs table with every access pattern of
 * docs/data-model.md. Functions, not a class: the state is the context (client, table, clock).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { getOrgState, getRunCursor, setOrgState, setRunCursor } from './cursors.ts';
import {
  abandonAction,
  type BeginActionResult,
  beginAction,
  claimEvent,
  completeAction,
  getAction,
  getEvent,
  listActions,
  markEvent,
  touchEvent,
} from './events.ts';
import {
  type EventFlow,
  type ListOutcomesInput,
  listEventOutcomes,
  type OutcomesPage,
  type ReadFlowInput,
  readEventFlow,
} from './flow.ts';
import type { ActionKey } from './keys.ts';
import {
  type AcquiredLease,
  acquireLease,
  type DueOrgs,
  queryDue,
  recordRefreshFailure,
  recordRefreshSuccess,
  releaseLease,
} from './leases.ts';
import {
  countOrgs,
  createOrg,
  findWebhookAuth,
  getOrg,
  type ListOrgsOptions,
  listOrgs,
  listOrgsPage,
  type OrgsPage,
  removeOrg,
  rotateWebhookSecret,
  scheduleRefresh,
  setStatus,
  updateOrg,
} from './orgs.ts';
import {
  listReplayRecords,
  type ReplayRecord,
  type ReplayRecordsPage,
  type ReplayUpdate,
  type StartReplayInput,
  startReplayRecord,
  updateReplayRecord,
} from './replays.ts';
import { deleteRule, getRule, listRules, putRule } from './rules.ts';
import type {
  ActionRecord,
  CreateOrgInput,
  EventOrigin,
  EventRecord,
  EventStatus,
  JsonObject,
  Org,
  OrgPatch,
  OrgStatus,
  Rule,
  RuleInput,
  Watermark,
  WebhookAuthRecord,
} from './schemas.ts';
import { parseInput, type RegistryContext } from './store.ts';
import { ORGS_TABLE_SCHEMA } from './table.ts';
import { type AdvanceResult, advanceWatermark, getWatermark } from './watermarks.ts';

/** Options of {@link createOrgRegistry}. */
export interface OrgRegistryOptions {
  /** Document client; build it with `createOrgsDynamoClients` for the documented retry. */
  client: DynamoDBDocumentClient;
  /** The orgs table (ORGS_TABLE). */
  tableName: string;
  /** Epoch milliseconds; leases, TTLs and timestamps all read it. */
  clock: () => number;
  /**
   * Partitions of the byRefreshDue index (REFRESH_SHARD_COUNT, 1-100). Every writer and the
   * refresher must agree: lowering it strands orgs in the dropped shards until re-scheduled.
   * @default 4
   */
  shards?: number;
}

/** The org registry. Every method validates its arguments (InvalidInputError) first. */
export interface OrgRegistry {
  readonly tableName: string;
  readonly shards: number;

  // --- orgs
  /** Registers an org (`active` and due at once unless said otherwise). OrgAlreadyExistsError. */
  createOrg(input: CreateOrgInput): Promise<Org>;
  /** The org, strongly consistent unless `consistent: false`; `undefined` when unknown. */
  getOrg(orgId: string, options?: { consistent?: boolean }): Promise<Org | undefined>;
  /** Every org (byKind index, never a scan), page by page under the hood. */
  listOrgs(options?: Omit<ListOrgsOptions, 'cursor'>): AsyncGenerator<Org, void, undefined>;
  /** How many orgs are in `status` (all when unset): a COUNT over org items only. */
  countOrgs(options?: { status?: OrgStatus | undefined }): Promise<number>;
  /** One page of orgs with a cursor and the items read (for the CLI). */
  listOrgsPage(options?: ListOrgsOptions): Promise<OrgsPage>;
  /** Optimistic patch: VersionConflictError when the org moved past `expectedVersion`. */
  updateOrg(orgId: string, patch: OrgPatch, options: { expectedVersion: number }): Promise<Org>;
  /** Sets the status and the byRefreshDue membership (only `active` orgs are in it). */
  setStatus(orgId: string, status: OrgStatus, expectedVersion?: number): Promise<Org>;
  /** Makes an active org due at `refreshDueAt`; `undefined` when it is not active. */
  scheduleRefresh(orgId: string, refreshDueAt: string): Promise<Org | undefined>;
  /** Deletes the org, its rules and watermarks (org item last). Idempotent. */
  removeOrg(orgId: string): Promise<{ itemsDeleted: number }>;

  // --- refresher
  /** Takes the lease (free or expired), fence + 1, fresh org; `null` when held. OrgNotFoundError. */
  acquireLease(
    orgId: string,
    request: { owner: string; durationMs: number },
  ): Promise<AcquiredLease | null>;
  /** Gives the lease back; no change when it was no longer held. */
  releaseLease(orgId: string, lease: { owner: string; fence: number }): Promise<void>;
  /** Fenced: records a good token and releases the lease. LeaseLostError when stale. */
  recordRefreshSuccess(
    orgId: string,
    result: {
      fence: number;
      owner?: string | undefined;
      tokenExpiresAt: string;
      refreshDueAt: string;
      obtainedAt: string;
    },
  ): Promise<void>;
  /** Fenced: records a failure (retry or needs_reauth) and releases the lease. LeaseLostError. */
  recordRefreshFailure(
    orgId: string,
    result: {
      fence: number;
      owner?: string | undefined;
      error: { code: string; message: string };
      needsReauth: boolean;
      retryAt: string;
    },
  ): Promise<void>;
  /** Active orgs with `refreshDueAt <= now` over every shard; Query only, reads O(due). */
  queryDue(now: string, options?: { limit?: number }): Promise<DueOrgs>;

  // --- rules
  putRule(orgId: string, rule: RuleInput): Promise<Rule>;
  getRule(orgId: string, ruleId: string): Promise<Rule | undefined>;
  listRules(orgId: string, options?: { consistent?: boolean }): Promise<Rule[]>;
  deleteRule(orgId: string, ruleId: string): Promise<boolean>;

  // --- watermarks
  getWatermark(orgId: string, stream: string): Promise<Watermark | undefined>;
  advanceWatermark(
    orgId: string,
    stream: string,
    value: string,
    options?: { expected?: string | null },
  ): Promise<AdvanceResult>;

  // --- run cursors (a scheduled part's round over the orgs)
  /** The org id the part's last run reached (`undefined` before its first). */
  getRunCursor(part: string): Promise<string | undefined>;
  /** Records the org id the part's run reached: the next run starts after it. */
  setRunCursor(part: string, orgId: string): Promise<void>;
  /** A scheduled part's own state for one org (the reporter's deferred periods). */
  getOrgState(orgId: string, part: string): Promise<Record<string, unknown> | undefined>;
  setOrgState(orgId: string, part: string, value: Record<string, unknown>): Promise<void>;

  // --- dedupe and action idempotency
  claimEvent(
    dedupeKey: string,
    options: { orgId: string; origin: EventOrigin; ttlSeconds?: number },
  ): Promise<'new' | 'duplicate'>;
  getEvent(dedupeKey: string): Promise<EventRecord | undefined>;
  markEvent(dedupeKey: string, status: EventStatus): Promise<EventRecord>;
  /** A sign of life of a `claimed` event (its `updatedAt`); `false` when it is not claimed. */
  touchEvent(dedupeKey: string): Promise<boolean>;
  beginAction(
    key: ActionKey,
    options?: { leaseMs?: number; ttlSeconds?: number },
  ): Promise<BeginActionResult>;
  completeAction(key: ActionKey, result: JsonObject): Promise<ActionRecord>;
  abandonAction(key: ActionKey, options: { attempts: number }): Promise<boolean>;
  getAction(key: ActionKey): Promise<ActionRecord | undefined>;
  listActions(dedupeKey: string): Promise<ActionRecord[]>;

  // --- event flow (counted by claimEvent / markEvent) and replay records
  /** Hourly counters of an org or of all orgs, and the first hour ever counted. */
  readEventFlow(input: ReadFlowInput): Promise<EventFlow>;
  /** The latest finished events, newest first, paged; optionally of one org and one type. */
  listEventOutcomes(input?: ListOutcomesInput): Promise<OutcomesPage>;
  /** Records a dead-letter replay as it starts (who, how, how many). */
  startReplay(input: StartReplayInput): Promise<ReplayRecord>;
  /** Records a replay's progress or end. */
  updateReplay(
    record: Pick<ReplayRecord, 'replayId' | 'startedAt'>,
    update: ReplayUpdate,
  ): Promise<ReplayRecord>;
  /** Replay records, newest first, paged. */
  listReplays(options?: { limit?: number; cursor?: string }): Promise<ReplayRecordsPage>;

  // --- webhook secrets
  /** Installs `newHash`; the current hash stays valid for `graceSeconds`. */
  rotateWebhookSecret(
    orgId: string,
    newHash: string,
    options: { graceSeconds: number },
  ): Promise<Org>;
  /** Status + hashes valid now, from one eventually consistent projected GetItem. */
  findWebhookAuth(orgId: string): Promise<WebhookAuthRecord | undefined>;
}

/**
 * Creates the registry over an existing orgs table.
 *
 * @example
 * const { document } = createOrgsDynamoClients();
 * const registry = createOrgRegistry({ client: document, tableName: 'tallyfy-orgs', clock: Date.now });
 * const lease = await registry.acquireLease('org5f4e3d2c1b0a', { owner: requestId, durationMs: 60_000 });
 * if (lease) await registry.recordRefreshSuccess('org5f4e3d2c1b0a', { fence: lease.fence, ... });
 */
export function createOrgRegistry(options: OrgRegistryOptions): OrgRegistry {
  const shards = parseInput(
    z.number().int().min(1).max(100),
    options.shards ?? ORGS_TABLE_SCHEMA.defaultRefreshShards,
    'shards',
  );
  const tableName = parseInput(z.string().min(3).max(255), options.tableName, 'tableName');
  const ctx: RegistryContext = { client: options.client, tableName, clock: options.clock, shards };
  return {
    tableName,
    shards,
    createOrg: (input) => createOrg(ctx, input),
    getOrg: (orgId, opts) => getOrg(ctx, orgId, opts),
    listOrgs: (opts) => listOrgs(ctx, opts),
    listOrgsPage: (opts) => listOrgsPage(ctx, opts),
    countOrgs: (opts) => countOrgs(ctx, opts),
    updateOrg: (orgId, patch, opts) => updateOrg(ctx, orgId, patch, opts),
    setStatus: (orgId, status, expectedVersion) => setStatus(ctx, orgId, status, expectedVersion),
    scheduleRefresh: (orgId, refreshDueAt) => scheduleRefresh(ctx, orgId, refreshDueAt),
    removeOrg: (orgId) => removeOrg(ctx, orgId),
    acquireLease: (orgId, request) => acquireLease(ctx, orgId, request),
    releaseLease: (orgId, lease) => releaseLease(ctx, orgId, lease),
    recordRefreshSuccess: async (orgId, result) => {
      await recordRefreshSuccess(ctx, orgId, result);
    },
    recordRefreshFailure: async (orgId, result) => {
      await recordRefreshFailure(ctx, orgId, result);
    },
    queryDue: (now, opts) => queryDue(ctx, now, opts),
    putRule: (orgId, rule) => putRule(ctx, orgId, rule),
    getRule: (orgId, ruleId) => getRule(ctx, orgId, ruleId),
    listRules: (orgId, opts) => listRules(ctx, orgId, opts),
    deleteRule: (orgId, ruleId) => deleteRule(ctx, orgId, ruleId),
    getWatermark: (orgId, stream) => getWatermark(ctx, orgId, stream),
    advanceWatermark: (orgId, stream, value, opts) =>
      advanceWatermark(ctx, orgId, stream, value, opts),
    getRunCursor: (part) => getRunCursor(ctx, part),
    setRunCursor: (part, orgId) => setRunCursor(ctx, part, orgId),
    getOrgState: (orgId, part) => getOrgState(ctx, orgId, part),
    setOrgState: (orgId, part, value) => setOrgState(ctx, orgId, part, value),
    claimEvent: (dedupeKey, opts) => claimEvent(ctx, dedupeKey, opts),
    getEvent: (dedupeKey) => getEvent(ctx, dedupeKey),
    markEvent: (dedupeKey, status) => markEvent(ctx, dedupeKey, status),
    touchEvent: (dedupeKey) => touchEvent(ctx, dedupeKey),
    beginAction: (key, opts) => beginAction(ctx, key, opts),
    completeAction: (key, result) => completeAction(ctx, key, result),
    abandonAction: (key, opts) => abandonAction(ctx, key, opts),
    getAction: (key) => getAction(ctx, key),
    listActions: (dedupeKey) => listActions(ctx, dedupeKey),
    readEventFlow: (input) => readEventFlow(ctx, input),
    listEventOutcomes: (input) => listEventOutcomes(ctx, input),
    startReplay: (input) => startReplayRecord(ctx, input),
    updateReplay: (record, update) => updateReplayRecord(ctx, record, update),
    listReplays: (opts) => listReplayRecords(ctx, opts),
    rotateWebhookSecret: (orgId, newHash, opts) => rotateWebhookSecret(ctx, orgId, newHash, opts),
    findWebhookAuth: (orgId) => findWebhookAuth(ctx, orgId),
  };
}
