/**
 * Rule items (`ORG#<orgId>` / `RULE#<ruleId>`): the body is the automation engine's, opaque here.
 */
import { DeleteCommand, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { OrgNotFoundError, StoreError } from './errors.ts';
import { ORG_PREFIX, orgKey, RULE_PREFIX, ruleKey } from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import { type Rule, RuleIdSchema, type RuleInput, RuleInputSchema, RuleSchema } from './schemas.ts';
import {
  nowIso,
  parseInput,
  parseItem,
  queryPages,
  type RegistryContext,
  run,
  UpdateBuilder,
} from './store.ts';

/**
 * Creates or replaces a rule, in a transaction with a check that the org exists (no orphan
 * rules). `createdAt` is kept on replace; `version` counts the writes.
 */
export async function putRule(ctx: RegistryContext, orgId: string, rule: RuleInput): Promise<Rule> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const input = parseInput(RuleInputSchema, rule, 'rule');
  const now = nowIso(ctx);
  const update = new UpdateBuilder()
    .set('orgId', orgId)
    .set('ruleId', input.ruleId)
    .set('enabled', input.enabled ?? true)
    .set('body', input.body)
    .set('updatedAt', now);
  const createdAt = update.name('createdAt');
  update.setExpression(`${createdAt} = if_not_exists(${createdAt}, ${update.value(now)})`);
  const version = update.name('version');
  update.setExpression(
    `${version} = if_not_exists(${version}, ${update.value(0)}) + ${update.value(1)}`,
  );
  await run(
    'putRule',
    () =>
      ctx.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: ctx.tableName,
                Key: orgKey(orgId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            {
              Update: {
                TableName: ctx.tableName,
                Key: ruleKey(orgId, input.ruleId),
                ...update.build(),
              },
            },
          ],
        }),
      ),
    () => {
      throw new OrgNotFoundError(orgId);
    },
  );
  const stored = await getRule(ctx, orgId, input.ruleId);
  if (stored === undefined) {
    // removed by a concurrent removeOrg between our write and read
    throw new StoreError('putRule', {
      cause: new Error('rule vanished right after it was written'),
    });
  }
  return stored;
}

export async function getRule(
  ctx: RegistryContext,
  orgId: string,
  ruleId: string,
): Promise<Rule | undefined> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  parseInput(RuleIdSchema, ruleId, 'ruleId');
  const { Item } = await run('getRule', () =>
    ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: ruleKey(orgId, ruleId),
        ConsistentRead: true,
      }),
    ),
  );
  return Item === undefined ? undefined : parseItem(RuleSchema, Item);
}

/**
 * Every rule of the org, in ruleId order (one Query on the org's partition, paginated).
 * Eventually consistent by default: the worker reads rules per event and a rule edited a second
 * ago may apply from the next event; pass `consistent` for the CLI's read-after-write.
 */
export async function listRules(
  ctx: RegistryContext,
  orgId: string,
  options: { consistent?: boolean } = {},
): Promise<Rule[]> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  const rules: Rule[] = [];
  const pages = queryPages(ctx, 'listRules', {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': `${ORG_PREFIX}${orgId}`, ':prefix': RULE_PREFIX },
    ConsistentRead: options.consistent ?? false,
  });
  for await (const page of pages) {
    for (const item of page.Items ?? []) rules.push(parseItem(RuleSchema, item));
  }
  return rules;
}

/** Deletes a rule; `false` when there was none. */
export async function deleteRule(
  ctx: RegistryContext,
  orgId: string,
  ruleId: string,
): Promise<boolean> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  parseInput(RuleIdSchema, ruleId, 'ruleId');
  const { Attributes } = await run('deleteRule', () =>
    ctx.client.send(
      new DeleteCommand({
        TableName: ctx.tableName,
        Key: ruleKey(orgId, ruleId),
        ReturnValues: 'ALL_OLD',
      }),
    ),
  );
  return Attributes !== undefined;
}
