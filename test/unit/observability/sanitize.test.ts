import { describe, expect, test } from 'vitest';
import {
  MAX_ERROR_MESSAGE_LENGTH,
  sanitizeError,
  scrubSecrets,
} from '../../../shared/observability/index.ts';
import { Secret } from '../../../shared/secret.ts';

const JWT = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MX0.QmFkU2lnbmF0dXJl';
const WEBHOOK_SECRET = 'q3Jw7dM0x9KpZr2LwT8vNa5YbE1cUf6GhI4jO0kSlPm';

describe('scrubSecrets', () => {
  test.each([
    ['bearer header', `Authorization: Bearer ${JWT}`, 'Authorization: Bearer [redacted]'],
    ['bare JWT', `token ${JWT} expired`, 'token [redacted] expired'],
    [
      'form body',
      'grant_type=password&password=p4ss&client_secret=abc',
      'grant_type=password&password=[redacted]&client_secret=[redacted]',
    ],
    ['refresh token pair', 'refresh_token=def50200aa', 'refresh_token=[redacted]'],
    [
      'JSON body',
      '{"access_token":"abc123","expires_in":3600}',
      '{"access_token":"[redacted]","expires_in":3600}',
    ],
    [
      'webhook URL',
      `POST https://x.example/hooks/org-1/${WEBHOOK_SECRET} timed out`,
      'POST https://x.example/hooks/org-1/[redacted] timed out',
    ],
    [
      'URL credentials',
      'connect https://bob:pw@proxy.local:8080 failed',
      'connect https://[redacted]@proxy.local:8080 failed',
    ],
    ['long base64 run', `key ${WEBHOOK_SECRET}`, 'key [redacted]'],
  ])('removes a %s', (_, input, expected) => {
    expect(scrubSecrets(input)).toBe(expected);
  });

  test('keeps what an operator needs: Tallyfy ids, codes, plain words and paths', () => {
    const text =
      'org 3b5c0f4e9a8d7c6b5a4f3e2d1c0b9a8f: HTTP 401 invalid_request The refresh token is invalid';
    expect(scrubSecrets(text)).toBe(text);
    const path = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prefix/orgs/org-1/token';
    expect(scrubSecrets(path)).toBe(path);
  });
});

describe('sanitizeError', () => {
  test('keeps the stable code and joins cause messages', () => {
    const err = Object.assign(
      new Error('refresh token rejected', { cause: new Error('HTTP 400 invalid_grant') }),
      { code: 'TALLYFY_GRANT_REJECTED' },
    );
    expect(sanitizeError(err)).toEqual({
      code: 'TALLYFY_GRANT_REJECTED',
      message: 'refresh token rejected; caused by: HTTP 400 invalid_grant',
    });
  });

  test('falls back to the error class name, and to UNKNOWN_ERROR for non-errors', () => {
    expect(sanitizeError(new TypeError('x is undefined')).code).toBe('TypeError');
    expect(sanitizeError({ weird: true })).toEqual({
      code: 'UNKNOWN_ERROR',
      message: 'non-error value thrown (object)',
    });
    expect(sanitizeError('plain text').message).toBe('plain text');
  });

  test('strips secrets from messages and causes as a second line of defence', () => {
    const err = new Error(`request failed: Bearer ${JWT}`, {
      cause: new Error('body: password=hunter2&refresh_token=def502'),
    });
    const { message } = sanitizeError(err);
    expect(message).not.toContain(JWT);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('def502');
    expect(message).toBe(
      'request failed: Bearer [redacted]; caused by: body: password=[redacted]&refresh_token=[redacted]',
    );
  });

  test('a thrown Secret stays redacted', () => {
    expect(sanitizeError(new Secret('s3cr3t')).message).toBe('[redacted]');
  });

  test('truncates to 500 characters', () => {
    const { message } = sanitizeError(new Error('x '.repeat(400)));
    expect(message).toHaveLength(MAX_ERROR_MESSAGE_LENGTH);
    expect(message.endsWith('…')).toBe(true);
  });

  test('a cause cycle does not loop forever', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(sanitizeError(a).message).toBe('a; caused by: b');
  });
});
