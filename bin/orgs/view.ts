/** What `orgs list/show` print about an org: never a hash, a secret value or a lease token. */
import type { Org } from '../../shared/orgs/index.ts';
import { relative } from '../format.ts';
import { fields, table } from '../io.ts';
import { tokenState } from '../tokens/state.ts';

export function orgView(org: Org, nowMs: number) {
  return {
    orgId: org.orgId,
    name: org.name,
    status: org.status,
    authMode: org.authMode,
    tokenState: tokenState(org, nowMs),
    tokenExpiresAt: org.tokenExpiresAt ?? null,
    lastRefreshAt: org.lastRefreshAt ?? null,
    refreshDueAt: org.refreshDueAt ?? null,
    consecutiveFailures: org.consecutiveFailures,
    lastError: org.lastError ?? null,
    credentialsSecretId: org.credentialsSecretId,
    tokenSecretId: org.tokenSecretId,
    previousWebhookSecretValidUntil: org.previousWebhookSecretValidUntil ?? null,
    timezone: org.timezone ?? null,
    /** The org's own token endpoint; `null`: the deployment's (TALLYFY_TOKEN_URL). */
    tokenUrl: org.tokenUrl ?? null,
    createdAt: org.createdAt,
    updatedAt: org.updatedAt,
    version: org.version,
  };
}
export type OrgView = ReturnType<typeof orgView>;

export function orgsTable(orgs: readonly Org[], nowMs: number): string[] {
  if (orgs.length === 0) return ['No orgs registered. Add one with `tallyfy-serverless orgs add`.'];
  return table(
    ['ORG', 'NAME', 'STATUS', 'AUTH', 'TOKEN', 'EXPIRES', 'LAST REFRESH'],
    orgs.map((org) => [
      org.orgId,
      org.name,
      org.status,
      org.authMode,
      tokenState(org, nowMs),
      relative(org.tokenExpiresAt, nowMs),
      relative(org.lastRefreshAt, nowMs),
    ]),
  );
}

export function orgDetails(org: Org, nowMs: number, rules?: number): string[] {
  return fields([
    ['Org', org.orgId],
    ['Name', org.name],
    ['Status', org.status],
    ['Auth mode', org.authMode],
    ['Token', tokenState(org, nowMs)],
    [
      'Expires',
      org.tokenExpiresAt === undefined
        ? '—'
        : `${org.tokenExpiresAt} (${relative(org.tokenExpiresAt, nowMs)})`,
    ],
    [
      'Last refresh',
      org.lastRefreshAt === undefined
        ? '—'
        : `${org.lastRefreshAt} (${relative(org.lastRefreshAt, nowMs)})`,
    ],
    [
      'Next refresh',
      org.refreshDueAt === undefined
        ? '—'
        : `${org.refreshDueAt} (${relative(org.refreshDueAt, nowMs)})`,
    ],
    ['Failures', org.consecutiveFailures > 0 ? String(org.consecutiveFailures) : undefined],
    [
      'Last error',
      org.lastError === undefined
        ? undefined
        : `${org.lastError.code}: ${org.lastError.message} (${org.lastError.at})`,
    ],
    [
      'Old webhook URL',
      org.previousWebhookSecretValidUntil === undefined
        ? undefined
        : `valid until ${org.previousWebhookSecretValidUntil}`,
    ],
    ['Timezone', org.timezone],
    ['Token URL', org.tokenUrl === undefined ? undefined : `${org.tokenUrl} (the org's own)`],
    ['Rules', rules === undefined ? undefined : String(rules)],
    ['Credentials', org.credentialsSecretId],
    ['Token secret', org.tokenSecretId],
    ['Created', org.createdAt],
    ['Updated', org.updatedAt],
  ]);
}
