/** The org registry as every function builds it from the `orgs` config section. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { OrgsConfig } from '../config.ts';
import { createOrgRegistry, type OrgRegistry } from './registry.ts';

/**
 * @example
 * const registry = orgRegistryFromConfig(config.orgs, document, Date.now);
 */
export function orgRegistryFromConfig(
  orgs: OrgsConfig,
  client: DynamoDBDocumentClient,
  clock: () => number,
): OrgRegistry {
  return createOrgRegistry({
    client,
    tableName: orgs.tableName,
    clock,
    shards: orgs.refreshShardCount,
  });
}
