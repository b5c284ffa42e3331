/**
 * A token's health as `tokens status` shows it, derived from the org item alone (the CLI never
 * reads a token to show its state), and the refresher's on-demand answer.
 */
import * as z from 'zod';
import type { Org } from '../../shared/orgs/index.ts';

export type TokenState =
  | 'healthy'
  | 'refreshing'
  | 'expiring'
  | 'expired'
  | 'pending'
  | 'failing'
  | 'needs_reauth'
  | 'disabled';

/** Under this much life left, a token that should have been refreshed is `expiring`. */
export const EXPIRING_MS = 15 * 60_000;

export function tokenState(org: Org, nowMs: number): TokenState {
  if (org.status === 'disabled') return 'disabled';
  if (org.status === 'needs_reauth') return 'needs_reauth';
  // a refresher holds the org's lease right now
  if (org.lease !== undefined && Date.parse(org.lease.until) > nowMs) return 'refreshing';
  if (org.tokenExpiresAt === undefined) return org.consecutiveFailures > 0 ? 'failing' : 'pending';
  const left = Date.parse(org.tokenExpiresAt) - nowMs;
  if (left <= 0) return 'expired';
  if (org.consecutiveFailures > 0) return 'failing';
  if (left < EXPIRING_MS) return 'expiring';
  return 'healthy';
}

/** States that mean someone should look (`tokens status --check` exits 5 on them). */
export const UNHEALTHY: ReadonlySet<TokenState> = new Set(['expired', 'failing', 'needs_reauth']);

export interface TokenStatusRow {
  orgId: string;
  name: string;
  authMode: Org['authMode'];
  status: Org['status'];
  state: TokenState;
  tokenExpiresAt: string | null;
  expiresInSeconds: number | null;
  lastRefreshAt: string | null;
  refreshDueAt: string | null;
  consecutiveFailures: number;
  lastError: { code: string; message: string; at: string } | null;
}

export function statusRow(org: Org, nowMs: number): TokenStatusRow {
  return {
    orgId: org.orgId,
    name: org.name,
    authMode: org.authMode,
    status: org.status,
    state: tokenState(org, nowMs),
    tokenExpiresAt: org.tokenExpiresAt ?? null,
    expiresInSeconds:
      org.tokenExpiresAt === undefined
        ? null
        : Math.round((Date.parse(org.tokenExpiresAt) - nowMs) / 1000),
    lastRefreshAt: org.lastRefreshAt ?? null,
    refreshDueAt: org.refreshDueAt ?? null,
    consecutiveFailures: org.consecutiveFailures,
    lastError: org.lastError ?? null,
  };
}

/** One org's answer of the token refresher (`RefreshResult` in shared/tokens/refresh.ts). */
export const RefreshOutcomeSchema = z.looseObject({
  orgId: z.string(),
  outcome: z.enum(['refreshed', 'recovered', 'fresh', 'busy', 'skipped', 'failed', 'error']),
  expiresAt: z.string().optional(),
  grant: z.string().optional(),
  reason: z.string().optional(),
  code: z.string().optional(),
  needsReauth: z.boolean().optional(),
  retryAt: z.string().optional(),
  message: z.string().optional(),
});
export type RefreshOutcome = z.infer<typeof RefreshOutcomeSchema>;

/**
 * Finds `orgId`'s outcome in what the refresher returned: `{kind: 'on-demand', result}` (the
 * handler's answer), one result, an array of them, or an object holding them under
 * `results`/`problems`. `undefined` when none is recognisable.
 */
export function findRefreshOutcome(answer: unknown, orgId: string): RefreshOutcome | undefined {
  const candidates: unknown[] = Array.isArray(answer)
    ? answer
    : typeof answer === 'object' && answer !== null
      ? [
          answer,
          ...(['result', 'results', 'problems'] as const).flatMap((key) => {
            const inner = (answer as Record<string, unknown>)[key];
            return Array.isArray(inner) ? inner : inner === undefined ? [] : [inner];
          }),
        ]
      : [];
  for (const candidate of candidates) {
    const parsed = RefreshOutcomeSchema.safeParse(candidate);
    if (parsed.success && parsed.data.orgId === orgId) return parsed.data;
  }
  return undefined;
}
