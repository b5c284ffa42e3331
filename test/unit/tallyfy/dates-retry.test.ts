import { describe, expect, test } from 'vitest';
import {
  type AttemptOutcome,
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  formatRequestDate,
  isIdempotent,
  parseRetryAfterMs,
  parseTallyfyDate,
  parseTallyfyDateMs,
  retryAfter,
  TallyfyDateError,
  tryParseTallyfyDate,
} from '../../../shared/tallyfy/index.ts';

describe('Tallyfy dates', () => {
  test.each([
    ['2025-10-02T14:30:00.000Z', '2025-10-02T14:30:00.000Z'],
    ['2026-11-19T10:42:13Z', '2026-11-19T10:42:13.000Z'],
    ['2026-11-19T10:42:13+02:00', '2026-11-19T08:42:13.000Z'],
    ['2026-11-19 10:42:13', '2026-11-19T10:42:13.000Z'],
    ['2025-10-15', '2025-10-15T00:00:00.000Z'],
    ['21/11/2026 03:10 PM UTC', '2026-11-21T15:10:00.000Z'],
    ['15/10/2025 09:00 AM UTC', '2025-10-15T09:00:00.000Z'],
    ['21/11/2026 12:05 AM UTC', '2026-11-21T00:05:00.000Z'],
    ['21/11/2026 12:05 PM GMT', '2026-11-21T12:05:00.000Z'],
    ['21/11/2026 03:10 PM EST', '2026-11-21T20:10:00.000Z'],
    ['21/07/2026 03:10 PM CEST', '2026-07-21T13:10:00.000Z'],
    ['21/11/2026 03:10 PM +0530', '2026-11-21T09:40:00.000Z'],
    ['21/11/2026 03:10 PM UTC+2', '2026-11-21T13:10:00.000Z'],
  ])('parses %s', (text, iso) => {
    expect(parseTallyfyDate(text)).toBe(iso);
    expect(parseTallyfyDateMs(text)).toBe(Date.parse(iso));
  });

  test.each([
    'next tuesday',
    '31/02/2026 03:10 PM UTC',
    '21/11/2026 13:10 PM UTC',
    '21/11/2026 03:10 PM IST',
    '21/11/2026 03:10 PM XYZ',
    '2026-13-01',
  ])('refuses %s with a clear TallyfyDateError (or undefined from the try form)', (text) => {
    expect(tryParseTallyfyDate(text)).toBeUndefined();
    const err = (() => {
      try {
        parseTallyfyDate(text);
      } catch (e) {
        return e;
      }
    })() as TallyfyDateError;
    expect(err).toBeInstanceOf(TallyfyDateError);
    expect(err.code).toBe('TALLYFY_DATE_INVALID');
    expect(err.message).toContain('d/m/Y h:i A T');
  });

  test('formatRequestDate writes YYYY-MM-DD HH:MM:SS in UTC, month before day', () => {
    expect(formatRequestDate('2026-11-21T15:10:05Z')).toBe('2026-11-21 15:10:05');
    expect(formatRequestDate(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02 03:04:05');
    expect(formatRequestDate(new Date('2026-03-09T23:59:59.999+01:00'))).toBe(
      '2026-03-09 22:59:59',
    );
    // what it writes, Tallyfy's parser (and ours) reads back as the same second
    const sent = formatRequestDate('2026-02-03T04:05:06Z');
    expect(parseTallyfyDate(sent)).toBe('2026-02-03T04:05:06.000Z');
    expect(() => formatRequestDate('nonsense')).toThrow(TallyfyDateError);
  });
});

describe('retry policy', () => {
  test('backoff doubles from 0.5 s to a cap of 8 s, with ±20% jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, DEFAULT_RETRY_POLICY, mid))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000,
    ]);
    expect(backoffDelayMs(1, DEFAULT_RETRY_POLICY, () => 0)).toBe(400);
    expect(backoffDelayMs(1, DEFAULT_RETRY_POLICY, () => 0.999999)).toBe(600);
    expect(DEFAULT_RETRY_POLICY.maxRetries).toBe(4);
    expect(DEFAULT_RETRY_POLICY.retryAfterCapMs).toBe(30_000);
  });

  test('Retry-After reads delta-seconds and HTTP dates, and ignores garbage', () => {
    const now = Date.parse('2026-10-21T07:27:50Z');
    expect(parseRetryAfterMs('7', now)).toBe(7000);
    expect(parseRetryAfterMs(['12'], now)).toBe(12_000);
    expect(parseRetryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT', now)).toBe(10_000);
    expect(parseRetryAfterMs('Wed, 21 Oct 2026 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });

  test('one decision for the API client and the token calls: what is retried, how long after', () => {
    const at = { nowMs: 0, deadlineAt: 60_000 };
    const ask = (method: string, outcome: AttemptOutcome, retry = 1) =>
      retryAfter({ method, outcome, retry, ...at }, DEFAULT_RETRY_POLICY, () => 0.5);
    // 429 was refused unprocessed: retried for any method, after Retry-After or backoff
    expect(ask('POST', { status: 429, retryAfterMs: 2000 })).toEqual({
      reason: 'rate_limited',
      delayMs: 2000,
    });
    expect(ask('POST', { status: 429, retryAfterMs: 30_000 })?.delayMs).toBe(30_000);
    // a longer Retry-After is the caller's to wait: retrying at the cap only earns another 429
    expect(ask('POST', { status: 429, retryAfterMs: 90_000 })).toBeUndefined();
    expect(ask('GET', { status: 503, retryAfterMs: 90_000 })).toBeUndefined();
    expect(ask('POST', { status: 429 }, 2)?.delayMs).toBe(1000);
    // a POST that may have reached Tallyfy is never repeated (a token grant rotates the token)
    expect(ask('POST', { status: 503 })).toBeUndefined();
    expect(ask('POST', { unsent: false })).toBeUndefined();
    // ... unless it was never sent
    expect(ask('POST', { unsent: true })).toEqual({ reason: 'network_error', delayMs: 500 });
    // idempotent calls: 500, gateway errors and lost connections too, never other statuses
    expect(ask('GET', { status: 503 })).toEqual({ reason: 'server_error', delayMs: 500 });
    expect(ask('GET', { status: 500 })).toEqual({ reason: 'server_error', delayMs: 500 });
    expect(ask('POST', { status: 500 })).toBeUndefined();
    expect(ask('GET', { unsent: false })?.reason).toBe('network_error');
    for (const status of [400, 401, 404, 422, 501]) expect(ask('GET', { status })).toBeUndefined();
    // bounded by the retries and by the call's deadline
    expect(ask('GET', { status: 503 }, 5)).toBeUndefined();
    expect(
      retryAfter(
        {
          method: 'GET',
          outcome: { status: 429, retryAfterMs: 5000 },
          retry: 1,
          nowMs: 56_000,
          deadlineAt: 60_000,
        },
        DEFAULT_RETRY_POLICY,
        () => 0.5,
      ),
    ).toBeUndefined();
  });

  test('only GET, HEAD, PUT, DELETE and OPTIONS are idempotent', () => {
    expect(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'].every(isIdempotent)).toBe(true);
    expect(isIdempotent('POST')).toBe(false);
    expect(isIdempotent('PATCH')).toBe(false);
  });
});
