/**
 * The org id rule, defined once: the registry, the webhook route, the token store's secret
 * names, refresh requests, the reconciler's and reporter's on-demand events and the CLI all
 * import it. Every place an org id goes takes the longest one: DynamoDB keys (`ORG#<orgId>`),
 * secret names (`<prefix>/orgs/<orgId>/credentials`, see `MAX_SECRET_PREFIX_LENGTH` in
 * shared/tokens), S3 keys (`reports/<orgId>/…`, `webhooks/<orgId>/…`) and file names.
 */
import * as z from 'zod';

/** The longest org id accepted. */
export const ORG_ID_MAX_LENGTH = 128;

/** The rule in words, for messages: `1-128 characters of A-Z a-z 0-9 _ -`. */
export const ORG_ID_RULE = `1-${ORG_ID_MAX_LENGTH} characters of A-Z a-z 0-9 _ -`;

const ORG_ID = new RegExp(`^[A-Za-z0-9_-]{1,${ORG_ID_MAX_LENGTH}}$`);

/**
 * A Tallyfy organization id: 1–128 characters of `A-Z a-z 0-9 _ -` (no `#`, which separates
 * key parts, and no `/`, which separates name parts).
 *
 * @example OrgIdSchema.parse('org5f4e3d2c1b0a'); // 'org5f4e3d2c1b0a'
 */
export const OrgIdSchema = z.string().regex(ORG_ID, `an org id: ${ORG_ID_RULE}`);

/** Whether `value` is a valid org id (a cheap check before any lookup). */
export function isOrgId(value: string): boolean {
  return ORG_ID.test(value);
}
