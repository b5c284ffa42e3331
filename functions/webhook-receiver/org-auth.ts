/**
 * TEMPORARY wiring until `shared/orgs` exports the registry's `findWebhookAuth(orgId)`: reads the
 * org item (`ORG#<orgId>` / `META`, ARCHITECTURE.md "Organisations") with one eventually consistent
 * GetItem. Replace the call in `index.ts` with the registry and delete this file.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { WebhookAuthLookup } from '../../shared/webhooks/index.ts';

const orgItemSchema = z.looseObject({
  status: z.enum(['active', 'needs_reauth', 'disabled']),
  webhookSecretHash: z.string().optional(),
  /** Assumed names for the rotation grace window (the registry owns the real layout). */
  previousWebhookSecretHash: z.string().optional(),
  previousWebhookSecretValidUntil: z.string().optional(),
});

export function dynamoWebhookAuthLookup(options: {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock: () => number;
}): WebhookAuthLookup {
  return {
    async findWebhookAuth(orgId) {
      const { Item } = await options.client.send(
        new GetCommand({ TableName: options.tableName, Key: { pk: `ORG#${orgId}`, sk: 'META' } }),
      );
      if (Item === undefined) return undefined;
      const item = orgItemSchema.parse(Item);
      const hashes: string[] = [];
      if (item.webhookSecretHash !== undefined) hashes.push(item.webhookSecretHash);
      const until = Date.parse(item.previousWebhookSecretValidUntil ?? '');
      if (item.previousWebhookSecretHash !== undefined && until > options.clock()) {
        hashes.push(item.previousWebhookSecretHash);
      }
      return { status: item.status, hashes };
    },
  };
}
