import { randomBytes } from 'node:crypto';

export type TokenKind = 'password' | 'client_credentials' | 'personal_access_token' | 'app_user';

/** Who a token speaks for: a user (in their orgs) or a client (in its one org). */
export type Principal =
  | { kind: 'user'; userId: string; tokenKind: TokenKind }
  | { kind: 'client'; clientId: string; orgId: string | null };

export interface AccessToken {
  principal: Principal;
  expiresAtMs: number;
  revoked: boolean;
  family: string | null;
}

export interface RefreshToken {
  userId: string;
  clientId: string;
  accessToken: string;
  expiresAtMs: number;
  revoked: boolean;
  family: string;
}

export type RefreshOutcome =
  | { ok: true; userId: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'wrong_client' };

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Access and refresh tokens as Laravel Passport keeps them: every refresh revokes the old
 * refresh token and the old access token; a spent refresh token stays known (so its reuse
 * is detected) but never works again.
 */
export class TokenRegistry {
  readonly #access = new Map<string, AccessToken>();
  readonly #refresh = new Map<string, RefreshToken>();
  /** Set by the persistence layer: remember which tokens changed (off otherwise). */
  trackChanges = false;
  #changedAccess = new Set<string>();
  #changedRefresh = new Set<string>();

  #accessChanged(token: string): void {
    if (this.trackChanges) this.#changedAccess.add(token);
  }

  #refreshChanged(token: string): void {
    if (this.trackChanges) this.#changedRefresh.add(token);
  }

  /** Tokens changed since the last call, with their state now (for the persistence layer). */
  takeChanges(): {
    access: Array<[string, AccessToken]>;
    refresh: Array<[string, RefreshToken]>;
  } {
    const pick = <T>(keys: Set<string>, from: Map<string, T>) =>
      [...keys].flatMap((k) => {
        const entry = from.get(k);
        return entry === undefined ? [] : [[k, entry] as [string, T]];
      });
    const changes = {
      access: pick(this.#changedAccess, this.#access),
      refresh: pick(this.#changedRefresh, this.#refresh),
    };
    this.#changedAccess = new Set();
    this.#changedRefresh = new Set();
    return changes;
  }

  /** Every token still worth keeping at `nowMs` (unexpired), for a snapshot. */
  *entries(
    nowMs: number,
  ): Generator<
    | { kind: 'access'; token: string; entry: AccessToken }
    | { kind: 'refresh'; token: string; entry: RefreshToken }
  > {
    for (const [token, entry] of this.#access) {
      if (entry.expiresAtMs > nowMs) yield { kind: 'access', token, entry };
    }
    for (const [token, entry] of this.#refresh) {
      if (entry.expiresAtMs > nowMs) yield { kind: 'refresh', token, entry };
    }
  }

  /** Puts back a saved token (restoring a snapshot). */
  restoreAccess(token: string, entry: AccessToken): void {
    this.#access.set(token, entry);
  }

  restoreRefresh(token: string, entry: RefreshToken): void {
    this.#refresh.set(token, entry);
  }

  issueAccess(principal: Principal, expiresAtMs: number, family: string | null = null): string {
    const token = newToken();
    this.#access.set(token, { principal, expiresAtMs, revoked: false, family });
    this.#accessChanged(token);
    return token;
  }

  issuePair(
    userId: string,
    clientId: string,
    accessExpiresAtMs: number,
    refreshExpiresAtMs: number,
    family = newToken(),
  ): { accessToken: string; refreshToken: string } {
    const accessToken = this.issueAccess(
      { kind: 'user', userId, tokenKind: 'password' },
      accessExpiresAtMs,
      family,
    );
    const refreshToken = newToken();
    this.#refresh.set(refreshToken, {
      userId,
      clientId,
      accessToken,
      expiresAtMs: refreshExpiresAtMs,
      revoked: false,
      family,
    });
    this.#refreshChanged(refreshToken);
    return { accessToken, refreshToken };
  }

  /** The principal of a live access token, or undefined (unknown, expired or revoked). */
  authenticate(token: string, nowMs: number): Principal | undefined {
    const entry = this.#access.get(token);
    if (!entry || entry.revoked || nowMs >= entry.expiresAtMs) return undefined;
    return entry.principal;
  }

  /** Spends a refresh token: on success the old refresh and access tokens are revoked. */
  spendRefresh(
    token: string,
    clientId: string,
    nowMs: number,
  ): RefreshOutcome & { family?: string } {
    const entry = this.#refresh.get(token);
    if (!entry) return { ok: false, reason: 'unknown' };
    if (entry.revoked) return { ok: false, reason: 'revoked', family: entry.family };
    if (entry.clientId !== clientId) return { ok: false, reason: 'wrong_client' };
    if (nowMs >= entry.expiresAtMs) return { ok: false, reason: 'expired' };
    entry.revoked = true;
    this.#refreshChanged(token);
    const access = this.#access.get(entry.accessToken);
    if (access) {
      access.revoked = true;
      this.#accessChanged(entry.accessToken);
    }
    return { ok: true, userId: entry.userId, family: entry.family };
  }

  /** Revokes every access and refresh token of a family (reuse detection). */
  revokeFamily(family: string): void {
    for (const [token, entry] of this.#refresh) {
      if (entry.family !== family) continue;
      entry.revoked = true;
      this.#refreshChanged(token);
    }
    for (const [token, entry] of this.#access) {
      if (entry.family !== family) continue;
      entry.revoked = true;
      this.#accessChanged(token);
    }
  }

  /** Revokes one access token (an admin revoked it; it answers 401 from now on). */
  revokeAccess(token: string): boolean {
    const entry = this.#access.get(token);
    if (!entry) return false;
    entry.revoked = true;
    return true;
  }

  /** Revokes the personal access tokens of a user. */
  revokePersonalAccessTokens(userId: string): void {
    for (const [token, entry] of this.#access) {
      const p = entry.principal;
      if (p.kind === 'user' && p.userId === userId && p.tokenKind === 'personal_access_token') {
        entry.revoked = true;
        this.#accessChanged(token);
      }
    }
  }
}
