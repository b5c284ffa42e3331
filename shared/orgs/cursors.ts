/**
 * Run cursors: where a scheduled part's round over the orgs stopped, so that its next run
 * starts after it (`ORG##<part>` / `CURSOR`). An org id never holds `#`, so the partition meets
 * no org's; it starts with `ORG#`, so the grants on org items (`dynamodb:LeadingKeys` `ORG#*`)
 * cover it.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type ItemKey, ORG_PREFIX } from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import {
  nowIso,
  parseInput,
  parseItem,
  type RegistryContext,
  run,
  UpdateBuilder,
} from './store.ts';

const PartSchema = z.lazy(() =>
  z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a part name of a-z 0-9 -'),
);
const CursorSchema = z.lazy(() => z.looseObject({ value: OrgIdSchema, updatedAt: z.string() }));

/** The key of a part's run cursor. */
export const runCursorKey = (part: string): ItemKey => ({
  pk: `${ORG_PREFIX}#${part}`,
  sk: 'CURSOR',
});

/** The org id the part's last run reached, or `undefined` before its first run. */
export async function getRunCursor(
  ctx: RegistryContext,
  part: string,
): Promise<string | undefined> {
  parseInput(PartSchema, part, 'part');
  const { Item } = await run('getRunCursor', () =>
    ctx.client.send(
      new GetCommand({ TableName: ctx.tableName, Key: runCursorKey(part), ConsistentRead: true }),
    ),
  );
  return Item === undefined ? undefined : parseItem(CursorSchema, Item).value;
}

/** Records the org id the part's run reached (the next run starts after it). */
export async function setRunCursor(
  ctx: RegistryContext,
  part: string,
  orgId: string,
): Promise<void> {
  parseInput(PartSchema, part, 'part');
  parseInput(OrgIdSchema, orgId, 'orgId');
  const update = new UpdateBuilder().set('value', orgId).set('updatedAt', nowIso(ctx));
  await run('setRunCursor', () =>
    ctx.client.send(
      new UpdateCommand({ TableName: ctx.tableName, Key: runCursorKey(part), ...update.build() }),
    ),
  );
}

const StateSchema = z.lazy(() =>
  z.looseObject({
    value: z.record(z.string(), z.unknown()),
    updatedAt: z.string(),
  }),
);

/** The key of a part's state for one org (`ORG#<orgId>` / `STATE#<part>`). */
export const orgStateKey = (orgId: string, part: string): ItemKey => ({
  pk: `${ORG_PREFIX}${orgId}`,
  sk: `STATE#${part}`,
});

/**
 * A scheduled part's own state for one org (e.g. the reporter's deferred periods), a small JSON
 * object kept beside the org; `undefined` when none was written.
 */
export async function getOrgState(
  ctx: RegistryContext,
  orgId: string,
  part: string,
): Promise<Record<string, unknown> | undefined> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  parseInput(PartSchema, part, 'part');
  const { Item } = await run('getOrgState', () =>
    ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: orgStateKey(orgId, part),
        ConsistentRead: true,
      }),
    ),
  );
  return Item === undefined ? undefined : parseItem(StateSchema, Item).value;
}

/** Replaces a scheduled part's state for one org. */
export async function setOrgState(
  ctx: RegistryContext,
  orgId: string,
  part: string,
  value: Record<string, unknown>,
): Promise<void> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  parseInput(PartSchema, part, 'part');
  const update = new UpdateBuilder()
    .set('orgId', orgId)
    .set('value', value)
    .set('updatedAt', nowIso(ctx));
  await run('setOrgState', () =>
    ctx.client.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: orgStateKey(orgId, part),
        ...update.build(),
      }),
    ),
  );
}
