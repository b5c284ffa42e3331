import type { SandboxContext } from './context.ts';
import type { Principal } from './tokens.ts';

const BEARER = /^Bearer ([^\s]+)$/;

/**
 * The request's principal, or undefined for Tallyfy's 401 "Unauthenticated.": the
 * `X-Tallyfy-Client: APIClient` header is missing, `Authorization` is not exactly
 * `Bearer <token>` (one space, that casing), or the token is unknown, expired or revoked.
 */
export function authenticate(
  ctx: SandboxContext,
  headers: { authorization?: string | undefined; client?: string | undefined },
  nowMs: number,
): Principal | undefined {
  if (headers.client !== 'APIClient') return undefined;
  const match = BEARER.exec(headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  return ctx.tokens.authenticate(match[1], nowMs);
}

/** Whether the principal may act in the org (its user is a member, or its client's org). */
export function memberOf(ctx: SandboxContext, principal: Principal, orgId: string): boolean {
  if (principal.kind === 'client') return principal.orgId === orgId;
  return ctx.store.users.get(principal.userId)?.roles.has(orgId) ?? false;
}
