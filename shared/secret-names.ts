/**
 * The names of every secret the bundle keeps in Secrets Manager, under one deployment prefix
 * (SECRET_PREFIX, ARCHITECTURE.md "Secrets"):
 *   <prefix>/orgs/<orgId>/credentials   what mints an org's tokens (refresher and CLI only)
 *   <prefix>/orgs/<orgId>/token         the org's current token
 *   <prefix>/automations/<name>         a signing key of `http_post` actions
 * Secrets Manager names are at most 512 characters, so the prefix must leave room for the
 * longest org id and the longest signing key name: {@link MAX_SECRET_PREFIX_LENGTH}.
 */
import { ORG_ID_MAX_LENGTH } from './orgs/index.ts';

/** Secrets Manager's longest secret name. */
export const SECRET_NAME_MAX_LENGTH = 512;

/** The longest name of a signing key under `<prefix>/automations/`. */
export const SIGNING_KEY_NAME_MAX_LENGTH = 200;

/** Which of an org's two secrets. */
export type SecretKind = 'credentials' | 'token';

/**
 * The longest SECRET_PREFIX with which every name still fits 512 characters: 299, set by the
 * signing keys (`/automations/` and 200 characters); the org secrets alone would allow 366.
 */
export const MAX_SECRET_PREFIX_LENGTH = Math.min(
  SECRET_NAME_MAX_LENGTH - '/orgs/'.length - ORG_ID_MAX_LENGTH - '/credentials'.length,
  SECRET_NAME_MAX_LENGTH - '/automations/'.length - SIGNING_KEY_NAME_MAX_LENGTH,
);

/**
 * The name of one of an org's secrets. The caller validates the org id.
 *
 * @example orgSecretName('tallyfy-serverless/prod', 'org5f4e3d2c1b0a', 'token')
 * // 'tallyfy-serverless/prod/orgs/org5f4e3d2c1b0a/token'
 */
export function orgSecretName(prefix: string, orgId: string, kind: SecretKind): string {
  return `${prefix}/orgs/${orgId}/${kind}`;
}

/**
 * The name of a named signing key of `http_post` actions.
 *
 * @example signingSecretName('tallyfy-serverless/prod', 'crm-hook') // 'tallyfy-serverless/prod/automations/crm-hook'
 */
export function signingSecretName(prefix: string, name: string): string {
  return `${prefix}/automations/${name}`;
}
