/**
 * Schemas of what the registry accepts and returns; the types are inferred from them.
 *
 * Timestamps are normalised to `Date#toISOString()` form (UTC, milliseconds, `Z`) on the way in,
 * because `refreshDueAt` and lease times are compared as strings by DynamoDB.
 */
import * as z from 'zod';
import { OrgIdSchema } from './org-id.ts';

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export const RuleIdSchema = z.string().regex(ID, 'a rule id of A-Z a-z 0-9 _ . : -');
export const StreamSchema = z.string().regex(ID, 'a stream name of A-Z a-z 0-9 _ . : -');
export const DedupeKeySchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** Any ISO 8601 date-time with zone, stored as `toISOString()` so that strings sort by time. */
export const IsoTimestampSchema = z.iso
  .datetime({ offset: true })
  .transform((text) => new Date(text).toISOString());

/** SHA-256 hex digest (of a webhook URL secret), stored lower-case. */
export const Sha256HexSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'a SHA-256 hex digest')
  .transform((text) => text.toLowerCase());

/**
 * An org's own OAuth token endpoint (overrides TALLYFY_TOKEN_URL for its grants): an http(s) URL
 * without credentials in it.
 */
export const TokenUrlSchema = z
  .string()
  .max(2048)
  .refine((text) => {
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.username === '' &&
      url.password === ''
    );
  }, 'an http(s) URL without credentials');

/** How an org gets its tokens (ARCHITECTURE.md "Organisations"), in the order the CLI offers them. */
export const AUTH_MODES = [
  'password',
  'client_credentials',
  'personal_access_token',
  'app_user_token',
] as const;
export const AuthModeSchema = z.enum(AUTH_MODES);
export type AuthMode = z.infer<typeof AuthModeSchema>;

export const OrgStatusSchema = z.enum(['active', 'needs_reauth', 'disabled']);
export type OrgStatus = z.infer<typeof OrgStatusSchema>;

/** The last refresh failure, scrubbed of anything credential-like. */
export const LastErrorSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(500),
  at: IsoTimestampSchema,
});
export type LastError = z.infer<typeof LastErrorSchema>;

/** Who holds the org's refresh lease, until when, and its fencing counter. */
export const LeaseSchema = z.object({
  owner: z.string().min(1),
  until: IsoTimestampSchema,
  fence: z.number().int().nonnegative(),
});
export type Lease = z.infer<typeof LeaseSchema>;

/** Per-org tunables (e.g. `refreshMarginSeconds`), flat scalar values. */
export const OrgSettingsSchema = z.record(
  z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/),
  z.union([z.string().max(1024), z.number(), z.boolean()]),
);
export type OrgSettings = z.infer<typeof OrgSettingsSchema>;

const orgFields = {
  orgId: OrgIdSchema,
  name: z.string().min(1).max(256),
  authMode: AuthModeSchema,
  credentialsSecretId: z.string().min(1).max(2048),
  tokenSecretId: z.string().min(1).max(2048),
  webhookSecretHash: Sha256HexSchema,
  previousWebhookSecretHash: Sha256HexSchema.optional(),
  previousWebhookSecretValidUntil: IsoTimestampSchema.optional(),
  status: OrgStatusSchema,
  tokenExpiresAt: IsoTimestampSchema.optional(),
  refreshDueAt: IsoTimestampSchema.optional(),
  lastRefreshAt: IsoTimestampSchema.optional(),
  lastError: LastErrorSchema.optional(),
  consecutiveFailures: z.number().int().nonnegative(),
  version: z.number().int().positive(),
  createdAt: IsoTimestampSchema,
  updatedAt: IsoTimestampSchema,
  timezone: z.string().min(1).max(64).optional(),
  /** The org's own token endpoint; absent: the deployment's TALLYFY_TOKEN_URL. */
  tokenUrl: TokenUrlSchema.optional(),
  settings: OrgSettingsSchema,
};

/** An org as the registry returns it. */
export const OrgSchema = z.object({ ...orgFields, lease: LeaseSchema.optional() });
export type Org = z.infer<typeof OrgSchema>;

/**
 * The org item as stored. The lease is kept flat (`leaseOwner`, `leaseUntil`, `leaseFence`)
 * so one UpdateItem can take it and bump the fence (a map and its member cannot both be set in
 * one expression); `leaseFence` outlives a release, so fences only ever grow.
 */
export const StoredOrgSchema = z.object({
  ...orgFields,
  leaseOwner: z.string().min(1).optional(),
  leaseUntil: IsoTimestampSchema.optional(),
  leaseFence: z.number().int().nonnegative().optional(),
});

/** What `createOrg` needs. */
export const CreateOrgInputSchema = z.strictObject({
  orgId: OrgIdSchema,
  name: orgFields.name,
  authMode: AuthModeSchema,
  credentialsSecretId: orgFields.credentialsSecretId,
  tokenSecretId: orgFields.tokenSecretId,
  webhookSecretHash: Sha256HexSchema,
  /** @default 'active' */
  status: OrgStatusSchema.optional(),
  /** When the refresher should first look at the org. @default now (at once) */
  refreshDueAt: IsoTimestampSchema.optional(),
  tokenExpiresAt: IsoTimestampSchema.optional(),
  timezone: orgFields.timezone,
  tokenUrl: orgFields.tokenUrl,
  settings: OrgSettingsSchema.optional(),
});
export type CreateOrgInput = z.input<typeof CreateOrgInputSchema>;

/** The fields `updateOrg` may change (status, lease, refresh state and secrets have their own methods). */
export const OrgPatchSchema = z.strictObject({
  name: orgFields.name.optional(),
  authMode: AuthModeSchema.optional(),
  credentialsSecretId: orgFields.credentialsSecretId.optional(),
  tokenSecretId: orgFields.tokenSecretId.optional(),
  timezone: orgFields.timezone,
  /** The org's own token endpoint; `null` removes it (the deployment's applies again). */
  tokenUrl: TokenUrlSchema.nullable().optional(),
  /** Replaces the whole settings map. */
  settings: OrgSettingsSchema.optional(),
});
export type OrgPatch = z.input<typeof OrgPatchSchema>;

/** An org due for a refresh, as read from the `byRefreshDue` index. */
export interface DueOrg {
  orgId: string;
  refreshDueAt: string;
  tokenExpiresAt?: string | undefined;
  authMode: AuthMode;
}

/** A JSON object (a rule body, an action result). */
export const JsonObjectSchema = z.record(z.string(), z.json());
export type JsonObject = z.infer<typeof JsonObjectSchema>;

/** What `putRule` stores: the body is the automation engine's business, opaque here. */
export const RuleInputSchema = z.strictObject({
  ruleId: RuleIdSchema,
  /** @default true */
  enabled: z.boolean().optional(),
  body: JsonObjectSchema,
});
export type RuleInput = z.input<typeof RuleInputSchema>;

export const RuleSchema = z.object({
  orgId: OrgIdSchema,
  ruleId: RuleIdSchema,
  enabled: z.boolean(),
  body: JsonObjectSchema,
  version: z.number().int().positive(),
  createdAt: IsoTimestampSchema,
  updatedAt: IsoTimestampSchema,
});
export type Rule = z.infer<typeof RuleSchema>;

export const WatermarkSchema = z.object({
  orgId: OrgIdSchema,
  stream: StreamSchema,
  /** Compared as a string: use ISO timestamps (toISOString) or zero-padded values. */
  value: z.string().min(1).max(1024),
  updatedAt: IsoTimestampSchema,
});
export type Watermark = z.infer<typeof WatermarkSchema>;

export const EventOriginSchema = z.enum(['webhook', 'reconciler', 'replay']);
export type EventOrigin = z.infer<typeof EventOriginSchema>;

/** `claimed` while a worker handles it; `done` or `failed` when it is finished. */
export const EventStatusSchema = z.enum(['claimed', 'done', 'failed']);
export type EventStatus = z.infer<typeof EventStatusSchema>;

export const EventRecordSchema = z.object({
  dedupeKey: DedupeKeySchema,
  orgId: OrgIdSchema,
  origin: EventOriginSchema,
  status: EventStatusSchema,
  firstSeenAt: IsoTimestampSchema,
  updatedAt: IsoTimestampSchema,
  /** TTL: epoch seconds. */
  expiresAt: z.number().int().positive(),
});
export type EventRecord = z.infer<typeof EventRecordSchema>;

export const ActionStatusSchema = z.enum(['started', 'done']);
export type ActionStatus = z.infer<typeof ActionStatusSchema>;

export const ActionRecordSchema = z.object({
  dedupeKey: DedupeKeySchema,
  ruleId: RuleIdSchema,
  actionIndex: z.number().int().nonnegative(),
  status: ActionStatusSchema,
  /** How many times an attempt began (1 = first). */
  attempts: z.number().int().positive(),
  startedAt: IsoTimestampSchema,
  /** Until then the attempt is presumed alive and nobody else may start one. */
  leaseUntil: IsoTimestampSchema,
  completedAt: IsoTimestampSchema.optional(),
  /** What the action produced (e.g. `{ runId }`), recorded by `completeAction`. */
  result: JsonObjectSchema.optional(),
  /** TTL: epoch seconds. */
  expiresAt: z.number().int().positive(),
});
export type ActionRecord = z.infer<typeof ActionRecordSchema>;

/** What `findWebhookAuth` returns: the org's status and every URL-secret hash valid now. */
export interface WebhookAuthRecord {
  status: OrgStatus;
  hashes: string[];
}
