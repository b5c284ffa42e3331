import { describe, expect, test } from 'vitest';
import {
  DEFAULT_REFRESH_POLICY,
  isRefreshDue,
  refreshDueAt,
  refreshMarginMs,
  retryAt,
} from '../../../shared/tokens/index.ts';

const T0 = Date.parse('2026-11-22T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const token = (lifetimeSeconds: number) => ({
  obtainedAt: iso(T0),
  expiresAt: iso(T0 + lifetimeSeconds * 1000),
});
const policy = DEFAULT_REFRESH_POLICY;

describe('refresh margin and due time', () => {
  test('a 1-hour token is due 15 minutes before expiry (the minimum margin wins over 20%)', () => {
    expect(refreshMarginMs(token(3600), policy)).toBe(900_000);
    expect(refreshDueAt(token(3600), policy)).toBe(iso(T0 + 45 * 60_000));
  });

  test('a 7-day token keeps 20% of its life, but is checked again after the daily keep-alive', () => {
    expect(refreshMarginMs(token(7 * 86_400), policy)).toBeCloseTo(120_960_000, 3);
    expect(refreshDueAt(token(7 * 86_400), policy)).toBe(iso(T0 + 86_400_000));
  });

  test('a token shorter than twice the margin is due at its half-life, not at once', () => {
    expect(refreshDueAt(token(600), policy)).toBe(iso(T0 + 300_000));
    expect(isRefreshDue(token(600), T0 + 299_999, policy)).toBe(false);
    expect(isRefreshDue(token(600), T0 + 300_000, policy)).toBe(true);
  });

  test('a personal access token is only checked at the keep-alive interval, even near its expiry', () => {
    const pat = { obtainedAt: iso(T0), expiresAt: iso(T0 + 3 * 86_400_000) };
    expect(refreshDueAt(pat, policy, { authMode: 'personal_access_token' })).toBe(
      iso(T0 + 86_400_000),
    );
    expect(isRefreshDue(pat, T0 + 3_600_000, policy, 'personal_access_token')).toBe(false);
  });

  test('jitter moves the due time earlier by at most jitterSeconds, never later or before obtainedAt', () => {
    const exact = Date.parse(refreshDueAt(token(3600), policy));
    for (const r of [0, 0.25, 0.999]) {
      const due = Date.parse(refreshDueAt(token(3600), policy, { random: () => r }));
      expect(due).toBeLessThanOrEqual(exact);
      expect(exact - due).toBeLessThanOrEqual(policy.jitterSeconds * 1000);
    }
    const tiny = { ...policy, jitterSeconds: 3600 };
    expect(refreshDueAt(token(600), tiny, { random: () => 0.99 })).toBe(iso(T0));
  });
});

describe('retry after failures', () => {
  test('backs off exponentially from the base, capped, with ±20% jitter', () => {
    const delay = (failures: number, r: number) =>
      Date.parse(retryAt(failures, T0, policy, () => r)) - T0;
    expect(delay(1, 0.5)).toBe(60_000);
    expect(delay(2, 0.5)).toBe(120_000);
    expect(delay(3, 0.5)).toBe(240_000);
    expect(delay(50, 0.5)).toBe(1_800_000);
    expect(delay(1, 0)).toBe(48_000);
    expect(delay(1, 1)).toBe(72_000);
  });
});
