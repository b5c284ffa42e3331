/** The seen markers as the receiver (writer) and the reconciler (reader) build them from config. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DedupeConfig, OrgsConfig } from '../config.ts';
import { createDynamoSeenEvents, type SeenEvents } from './seen.ts';

/**
 * Seen markers in the orgs table (`ORGS_TABLE`), living as long as dedupe items
 * (`DEDUPE_TTL_DAYS`): at least as long as the reconciler looks back.
 *
 * @example
 * const seen = seenEventsFromConfig(config, document, Date.now);
 */
export function seenEventsFromConfig(
  config: { orgs: OrgsConfig; dedupe: DedupeConfig },
  client: DynamoDBDocumentClient,
  clock: () => number,
): SeenEvents {
  return createDynamoSeenEvents({
    client,
    tableName: config.orgs.tableName,
    clock,
    ttlSeconds: config.dedupe.ttlDays * 86_400,
  });
}
