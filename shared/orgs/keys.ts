/**
 * Item keys of the orgs table (ARCHITECTURE.md "Organisations") and the refresh shard of an org.
 */
import { createHash } from 'node:crypto';

/** The key of one item. */
export interface ItemKey {
  pk: string;
  sk: string;
}

/** Identifies one action of one rule for one event: the unit that runs at most once. */
export interface ActionKey {
  dedupeKey: string;
  ruleId: string;
  /** Position of the action in the rule's `then` list, from 0. */
  actionIndex: number;
}

export const ORG_PREFIX = 'ORG#';
const META_SK = 'META';
export const RULE_PREFIX = 'RULE#';
const WATERMARK_PREFIX = 'WATERMARK#';
export const EVENT_PREFIX = 'EVENT#';
const EVENT_SK = 'EVENT';
export const ACTION_PREFIX = 'ACTION#';
export const REFRESH_SHARD_PREFIX = 'REFRESH#';
export const FLOW_PREFIX = 'FLOW#';
export const FLOW_HOUR_PREFIX = 'HOUR#';
export const FLOW_EPOCH_SK = 'EPOCH';
export const OUTCOMES_PREFIX = 'OUTCOMES#';
export const REPLAYS_PK = 'REPLAYS';
export const REPLAY_PREFIX = 'REPLAY#';
/** The scope of the all-orgs flow items: `*` is never part of an org id. */
export const ALL_ORGS_SCOPE = '*';

export const orgKey = (orgId: string): ItemKey => ({ pk: `${ORG_PREFIX}${orgId}`, sk: META_SK });

export const ruleKey = (orgId: string, ruleId: string): ItemKey => ({
  pk: `${ORG_PREFIX}${orgId}`,
  sk: `${RULE_PREFIX}${ruleId}`,
});

export const watermarkKey = (orgId: string, stream: string): ItemKey => ({
  pk: `${ORG_PREFIX}${orgId}`,
  sk: `${WATERMARK_PREFIX}${stream}`,
});

export const eventKey = (dedupeKey: string): ItemKey => ({
  pk: `${EVENT_PREFIX}${dedupeKey}`,
  sk: EVENT_SK,
});

/**
 * Action records live in their event's partition, so one Query reads an event and all its
 * actions. The index is zero-padded so actions sort in rule order.
 */
export const actionKey = (key: ActionKey): ItemKey => ({
  pk: `${EVENT_PREFIX}${key.dedupeKey}`,
  sk: `${ACTION_PREFIX}${key.ruleId}#${String(key.actionIndex).padStart(4, '0')}`,
});

/** The partition of an org's (or, for {@link ALL_ORGS_SCOPE}, every org's) hourly counters. */
export const flowPartition = (scope: string): string => `${FLOW_PREFIX}${scope}`;

/** One hourly counter item; `hour` is `yyyy-mm-ddThh` (UTC), so sort keys sort by time. */
export const flowKey = (scope: string, hour: string): ItemKey => ({
  pk: flowPartition(scope),
  sk: `${FLOW_HOUR_PREFIX}${hour}`,
});

/**
 * The partition of finished-event items: one per org, and one per UTC day for all orgs (so no
 * partition grows without bound and a day is one Query).
 */
export const outcomePartition = (scope: string, day?: string): string =>
  day === undefined ? `${OUTCOMES_PREFIX}${scope}` : `${OUTCOMES_PREFIX}${scope}#${day}`;

/** A finished-event item: newest first when queried backwards. */
export const outcomeKey = (scope: string, finishedAt: string, dedupeKey: string): ItemKey => ({
  pk:
    scope === ALL_ORGS_SCOPE
      ? outcomePartition(scope, finishedAt.slice(0, 10))
      : outcomePartition(scope),
  sk: `${finishedAt}#${dedupeKey}`,
});

/** A replay record: one partition for all (replays are rare operator actions), newest last. */
export const replayKey = (startedAt: string, replayId: string): ItemKey => ({
  pk: REPLAYS_PK,
  sk: `${REPLAY_PREFIX}${startedAt}#${replayId}`,
});

/**
 * The `byRefreshDue` partition of an org: a stable hash of the org id, so an org stays in its
 * shard for its whole life and orgs spread evenly over `shards` partitions.
 *
 * @example refreshShardOf('org5f4e3d2c1b0a', 4) // 'REFRESH#2'
 */
export function refreshShardOf(orgId: string, shards: number): string {
  const digest = createHash('sha256').update(orgId, 'utf8').digest();
  return `${REFRESH_SHARD_PREFIX}${digest.readUInt32BE(0) % shards}`;
}

/** Every `byRefreshDue` partition for `shards` shards. */
export function refreshShards(shards: number): string[] {
  return Array.from({ length: shards }, (_, index) => `${REFRESH_SHARD_PREFIX}${index}`);
}

/**
 * A short marker derived from an action key, for an action to embed in what it creates in
 * Tallyfy (a run name, a kick-off field, a comment) so that a retry after an unknown outcome
 * can find its own earlier effect. Deterministic: the same key always gives the same marker.
 *
 * @example actionMarker({ dedupeKey: 'task.completed:t1:2026-01-01T00:00:00Z', ruleId: 'r1', actionIndex: 0 })
 * // 'tsf-3b9c0a1d2e4f5a6b'
 */
export function actionMarker(key: ActionKey): string {
  const digest = createHash('sha256')
    .update(`${key.dedupeKey}\u0000${key.ruleId}\u0000${key.actionIndex}`, 'utf8')
    .digest('hex');
  return `tsf-${digest.slice(0, 16)}`;
}
