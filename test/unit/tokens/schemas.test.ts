import { describe, expect, test } from 'vitest';
import * as z from 'zod';
import { Secret } from '../../../shared/secret.ts';
import { credentialsSchema, tokenSchema } from '../../../shared/tokens/index.ts';

const base = { orgId: 'org1', updatedAt: '2026-11-22T12:00:00.000Z' };

describe('secret schemas', () => {
  test('secret fields decode to Secret and print as [redacted]', () => {
    const parsed = credentialsSchema.parse({
      ...base,
      authMode: 'client_credentials',
      clientId: 'c',
      clientSecret: 'cs-value',
    });
    if (parsed.authMode !== 'client_credentials') throw new Error('unreachable');
    expect(parsed.clientSecret).toBeInstanceOf(Secret);
    expect(JSON.stringify(parsed)).not.toContain('cs-value');
    expect(z.encode(credentialsSchema, parsed)).toEqual({
      ...base,
      authMode: 'client_credentials',
      clientId: 'c',
      clientSecret: 'cs-value',
    });
  });

  test('password credentials need a username and password together, or a refresh token alone', () => {
    const password = { ...base, authMode: 'password', clientId: 'c', clientSecret: 's' };
    expect(credentialsSchema.safeParse({ ...password, username: 'u', password: 'p' }).success).toBe(
      true,
    );
    expect(credentialsSchema.safeParse({ ...password, refreshToken: 'r' }).success).toBe(true);
    expect(credentialsSchema.safeParse({ ...password, username: 'u' }).success).toBe(false);
    expect(
      credentialsSchema.safeParse({ ...password, username: 'u', refreshToken: 'r' }).success,
    ).toBe(false);
    expect(credentialsSchema.safeParse(password).success).toBe(false);
  });

  test('app_user_token credentials need a valid email and the app client credentials', () => {
    const app = { ...base, authMode: 'app_user_token', appClientId: 'a', appClientSecret: 's' };
    expect(credentialsSchema.safeParse({ ...app, email: 'user@example.com' }).success).toBe(true);
    expect(credentialsSchema.safeParse({ ...app, email: 'not-an-email' }).success).toBe(false);
    expect(
      credentialsSchema.safeParse({
        ...base,
        authMode: 'app_user_token',
        email: 'user@example.com',
      }).success,
    ).toBe(false);
  });

  test('an unknown auth mode is refused', () => {
    const result = credentialsSchema.safeParse({ ...base, authMode: 'magic' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['authMode']);
  });

  test('token times must be ISO 8601 UTC', () => {
    const token = {
      accessToken: 'a',
      tokenType: 'Bearer',
      expiresAt: '2026-11-22T13:00:00.000Z',
      obtainedAt: '2026-11-22T12:00:00.000Z',
      authMode: 'password',
      orgId: 'org1',
    };
    expect(tokenSchema.safeParse(token).success).toBe(true);
    expect(tokenSchema.safeParse({ ...token, expiresAt: '2026-11-22 13:00' }).success).toBe(false);
    expect(
      tokenSchema.safeParse({ ...token, expiresAt: '2026-11-22T13:00:00+02:00' }).success,
    ).toBe(false);
  });
});
