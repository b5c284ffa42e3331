import * as z from 'zod';
import { AuthModeSchema, OrgIdSchema } from '../orgs/index.ts';
import { Secret } from '../secret.ts';

/*
 * The JSON kept in the two secrets of an org (ARCHITECTURE.md, "Secrets"):
 *   <prefix>/orgs/<orgId>/credentials  what mints tokens   (refresher and CLI only)
 *   <prefix>/orgs/<orgId>/token        the current token   (written by the refresher, read by all)
 * Each schema is a zod codec: `parse`/`decode` turns the stored JSON into objects whose secret
 * fields are `Secret`s; `z.encode` turns them back (the only place `reveal()` is called), and
 * validates on the way out too, so nothing malformed is ever stored. Each is a `z.lazy`, built on
 * its first use rather than at every cold start (most functions read tokens, never credentials).
 */

/** A secret string in the JSON, a {@link Secret} in memory. */
export const secretString = z.lazy(() =>
  z.codec(z.string().min(1), z.instanceof(Secret), {
    decode: (value) => new Secret(value),
    encode: (value) => value.reveal(),
  }),
);

/** ISO 8601 UTC (`…Z`), as `new Date(ms).toISOString()` writes it. */
const isoTime = z.lazy(() => z.iso.datetime());
const orgId = OrgIdSchema;

/**
 * The last token the refresher obtained, kept in the credentials secret next to the refresh
 * token that came with it: if a run dies between the credentials write and the token write,
 * the next run copies this instead of spending another grant.
 */
export const lastGrantSchema = z.lazy(() =>
  z.object({
    grantId: z.string().min(1),
    accessToken: secretString,
    tokenType: z.string().min(1),
    expiresAt: isoTime,
    obtainedAt: isoTime,
  }),
);
export type LastGrant = z.output<typeof lastGrantSchema>;

const common = () => ({
  orgId,
  /** When the store last wrote this secret (the store stamps it). */
  updatedAt: isoTime,
  lastGrant: lastGrantSchema.optional(),
});

/**
 * `password`: Tallyfy's password grant, then its rotating refresh token. `username` and
 * `password` may be absent when the org was registered with a refresh token only; then a
 * rejected refresh token means re-registration.
 */
export const passwordCredentialsSchema = z.lazy(() =>
  z
    .object({
      authMode: z.literal('password'),
      ...common(),
      clientId: z.string().min(1),
      clientSecret: secretString,
      username: z.string().min(1).optional(),
      password: secretString.optional(),
      refreshToken: secretString.optional(),
    })
    .refine(
      (value) =>
        (value.username !== undefined && value.password !== undefined) ||
        (value.username === undefined &&
          value.password === undefined &&
          value.refreshToken !== undefined),
      {
        message: 'password credentials need a username and a password, or a refresh token alone',
        path: ['password'],
      },
    ),
);

/** `client_credentials`: an app's id and secret (scope `*`); no refresh token, re-granted. */
export const clientCredentialsSchema = z.lazy(() =>
  z.object({
    authMode: z.literal('client_credentials'),
    ...common(),
    clientId: z.string().min(1),
    clientSecret: secretString,
  }),
);

/** `personal_access_token`: static; validated, never refreshed; expires ~6 months after issue. */
export const personalAccessTokenCredentialsSchema = z.lazy(() =>
  z.object({
    authMode: z.literal('personal_access_token'),
    ...common(),
    token: secretString,
    /** When the PAT was issued, to warn before its documented expiry. @default first validation */
    issuedAt: isoTime.optional(),
  }),
);

/**
 * `app_user_token`: an app acting for one user. The refresher obtains an app token with the
 * client_credentials grant (`appClientId`/`appClientSecret`), then mints the user's token with
 * `POST /applications/{orgId}/users/{email}/token`. We store the app's client credentials and
 * not an app token: an app token expires too, and would need its own refresh; the client
 * credentials mint a fresh one whenever the user token is due.
 */
export const appUserTokenCredentialsSchema = z.lazy(() =>
  z.object({
    authMode: z.literal('app_user_token'),
    ...common(),
    appClientId: z.string().min(1),
    appClientSecret: secretString,
    email: z.email(),
  }),
);

export const credentialsSchema = z.lazy(() =>
  z.discriminatedUnion('authMode', [
    passwordCredentialsSchema,
    clientCredentialsSchema,
    personalAccessTokenCredentialsSchema,
    appUserTokenCredentialsSchema,
  ]),
);

/** An org's credentials as held in memory (secret fields are `Secret`s). */
export type OrgCredentials = z.output<typeof credentialsSchema>;
export type PasswordCredentials = z.output<typeof passwordCredentialsSchema>;
export type ClientCredentials = z.output<typeof clientCredentialsSchema>;
export type PersonalAccessTokenCredentials = z.output<typeof personalAccessTokenCredentialsSchema>;
export type AppUserTokenCredentials = z.output<typeof appUserTokenCredentialsSchema>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a caller hands to a credentials write: `updatedAt` is stamped by the store. */
export type CredentialsInput = DistributiveOmit<OrgCredentials, 'updatedAt'> & {
  updatedAt?: string | undefined;
};

/** The token secret: what workers read. */
export const tokenSchema = z.lazy(() =>
  z.object({
    accessToken: secretString,
    /** `Bearer` from Tallyfy. */
    tokenType: z.string().min(1),
    expiresAt: isoTime,
    obtainedAt: isoTime,
    authMode: AuthModeSchema,
    orgId,
    /** Which grant produced this token (matches `lastGrant.grantId` in the credentials). */
    grantId: z.string().min(1).optional(),
  }),
);

/** An org's current access token as held in memory. */
export type OrgToken = z.output<typeof tokenSchema>;
