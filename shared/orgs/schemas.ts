/**
 * Schemas of what the registry accepts and returns; the types are inferred from them.
 *
 * Timestamps are normalised to `Date#toISOString()` form (UTC, milliseconds, `Z`) on the way in,
 * because `refreshDueAt` and lease times are compared as strings by DynamoDB.
 *
 * Each schema built from more than a check or two is a `z.lazy`: it is built on its first parse,
 * not at import. Every function bundles the whole registry, and most of these (replays, rules,
 * actions…) are never parsed by a given function; building them all cost each cold start ~170
 * zod instances (docs/benchmarks.md "Cold start").
 */
import * as z from 'zod';
import { OrgIdSchema } from './org-id.ts';

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export const RuleIdSchema = z.string().regex(ID, 'a rule id of A-Z a-z 0-9 _ . : -');
export const StreamSchema = z.string().regex(ID, 'a stream name of A-Z a-z 0-9 _ . : -');
export const DedupeKeySchema = z.lazy(() =>
  z
    .string()
    .min(1)
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
);

/** Any ISO 8601 date-time with zone, stored as `toISOString()` so that strings sort by time. */
export const IsoTimestampSchema = z.lazy(() =>
  z.iso.datetime({ offset: true }).transform((text) => new Date(text).toISOString()),
);

/** SHA-256 hex digest (of a webhook URL secret), stored lower-case. */
export const Sha256HexSchema = z.lazy(() =>
  z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'a SHA-256 hex digest')
    .transform((text) => text.toLowerCase()),
);

/**
 * An org's own OAuth token endpoint (overrides TALLYFY_TOKEN_URL for its grants): an http(s) URL
 * without credentials in it.
 */
export const TokenUrlSchema = z.lazy(() =>
  z
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
    }, 'an http(s) URL without credentials'),
);

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
export const LastErrorSchema = z.lazy(() =>
  z.object({
    code: z.string().min(1).max(64),
    message: z.string().max(500),
    at: IsoTimestampSchema,
  }),
);
export type LastError = z.infer<typeof LastErrorSchema>;

/** Who holds the org's refresh lease, until when, and its fencing counter. */
export const LeaseSchema = z.lazy(() =>
  z.object({
    owner: z.string().min(1),
    until: IsoTimestampSchema,
    fence: z.number().int().nonnegative(),
  }),
);
export type Lease = z.infer<typeof LeaseSchema>;

/** Per-org tunables (e.g. `refreshMarginSeconds`), flat scalar values. */
export const OrgSettingsSchema = z.lazy(() =>
  z.record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/),
    z.union([z.string().max(1024), z.number(), z.boolean()]),
  ),
);
export type OrgSettings = z.infer<typeof OrgSettingsSchema>;

/** The fields of an org, as returned and as stored (built anew for each schema that uses them). */
const orgFields = () => ({
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
});

/** An org as the registry returns it. */
export const OrgSchema = z.lazy(() => z.object({ ...orgFields(), lease: LeaseSchema.optional() }));
export type Org = z.infer<typeof OrgSchema>;

/**
 * The fields of the org item as stored. The lease is kept flat (`leaseOwner`, `leaseUntil`,
 * `leaseFence`) so one UpdateItem can take it and bump the fence (a map and its member cannot
 * both be set in one expression); `leaseFence` outlives a release, so fences only ever grow.
 */
export const storedOrgObject = () =>
  z.object({
    ...orgFields(),
    leaseOwner: z.string().min(1).optional(),
    leaseUntil: IsoTimestampSchema.optional(),
    leaseFence: z.number().int().nonnegative().optional(),
  });

/** The org item as stored (see {@link storedOrgObject}). */
export const StoredOrgSchema = z.lazy(storedOrgObject);

/** What `createOrg` needs. */
export const CreateOrgInputSchema = z.lazy(() => {
  const fields = orgFields();
  return z.strictObject({
    orgId: OrgIdSchema,
    name: fields.name,
    authMode: AuthModeSchema,
    credentialsSecretId: fields.credentialsSecretId,
    tokenSecretId: fields.tokenSecretId,
    webhookSecretHash: Sha256HexSchema,
    /** @default 'active' */
    status: OrgStatusSchema.optional(),
    /** When the refresher should first look at the org. @default now (at once) */
    refreshDueAt: IsoTimestampSchema.optional(),
    tokenExpiresAt: IsoTimestampSchema.optional(),
    timezone: fields.timezone,
    tokenUrl: fields.tokenUrl,
    settings: OrgSettingsSchema.optional(),
  });
});
export type CreateOrgInput = z.input<typeof CreateOrgInputSchema>;

/** The fields `updateOrg` may change (status, lease, refresh state and secrets have their own methods). */
export const OrgPatchSchema = z.lazy(() => {
  const fields = orgFields();
  return z.strictObject({
    name: fields.name.optional(),
    authMode: AuthModeSchema.optional(),
    credentialsSecretId: fields.credentialsSecretId.optional(),
    tokenSecretId: fields.tokenSecretId.optional(),
    timezone: fields.timezone,
    /** The org's own token endpoint; `null` removes it (the deployment's applies again). */
    tokenUrl: TokenUrlSchema.nullable().optional(),
    /** Replaces the whole settings map. */
    settings: OrgSettingsSchema.optional(),
  });
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
export const JsonObjectSchema = z.lazy(() => z.record(z.string(), z.json()));
export type JsonObject = z.infer<typeof JsonObjectSchema>;

/** What `putRule` stores: the body is the automation engine's business, opaque here. */
export const RuleInputSchema = z.lazy(() =>
  z.strictObject({
    ruleId: RuleIdSchema,
    /** @default true */
    enabled: z.boolean().optional(),
    body: JsonObjectSchema,
  }),
);
export type RuleInput = z.input<typeof RuleInputSchema>;

export const RuleSchema = z.lazy(() =>
  z.object({
    orgId: OrgIdSchema,
    ruleId: RuleIdSchema,
    enabled: z.boolean(),
    body: JsonObjectSchema,
    version: z.number().int().positive(),
    createdAt: IsoTimestampSchema,
    updatedAt: IsoTimestampSchema,
  }),
);
export type Rule = z.infer<typeof RuleSchema>;

/** A watermark's value. Compared as a string: use ISO timestamps (toISOString) or zero-padded values. */
export const WatermarkValueSchema = z.lazy(() => z.string().min(1).max(1024));

export const WatermarkSchema = z.lazy(() =>
  z.object({
    orgId: OrgIdSchema,
    stream: StreamSchema,
    value: WatermarkValueSchema,
    updatedAt: IsoTimestampSchema,
  }),
);
export type Watermark = z.infer<typeof WatermarkSchema>;

export const EventOriginSchema = z.enum(['webhook', 'reconciler', 'replay']);
export type EventOrigin = z.infer<typeof EventOriginSchema>;

/** `claimed` while a worker handles it; `done` or `failed` when it is finished. */
export const EventStatusSchema = z.enum(['claimed', 'done', 'failed']);
export type EventStatus = z.infer<typeof EventStatusSchema>;

export const EventRecordSchema = z.lazy(() =>
  z.object({
    dedupeKey: DedupeKeySchema,
    orgId: OrgIdSchema,
    origin: EventOriginSchema,
    status: EventStatusSchema,
    firstSeenAt: IsoTimestampSchema,
    updatedAt: IsoTimestampSchema,
    /** TTL: epoch seconds. */
    expiresAt: z.number().int().positive(),
  }),
);
export type EventRecord = z.infer<typeof EventRecordSchema>;

export const ActionStatusSchema = z.enum(['started', 'done']);
export type ActionStatus = z.infer<typeof ActionStatusSchema>;

export const ActionRecordSchema = z.lazy(() =>
  z.object({
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
  }),
);
export type ActionRecord = z.infer<typeof ActionRecordSchema>;

/** What `findWebhookAuth` returns: the org's status and every URL-secret hash valid now. */
export interface WebhookAuthRecord {
  status: OrgStatus;
  hashes: string[];
}
