import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createLimiter } from '../../../shared/async.ts';
import {
  ActionFailedError,
  classifyFailure,
  HttpPostError,
  retryDelaySeconds,
  signatureHeaders,
  verifySignature,
} from '../../../shared/automations/index.ts';
import { Secret } from '../../../shared/secret.ts';
import {
  TallyfyNetworkError,
  TallyfyNotFoundError,
  TallyfyRateLimitError,
  TallyfyScopeError,
  TallyfyServerError,
} from '../../../shared/tallyfy/index.ts';

describe('http_post signatures (Standard Webhooks)', () => {
  const secret = new Secret(
    `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
  );

  test('the signature is base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" with the decoded key', () => {
    const headers = signatureHeaders(secret, 'tsf-1', 1_763_550_133, '{"a":1}');
    const mac = createHmac('sha256', Buffer.from('0123456789abcdef0123456789abcdef'))
      .update('tsf-1.1763550133.{"a":1}')
      .digest('base64');
    expect(headers).toEqual({
      'webhook-id': 'tsf-1',
      'webhook-timestamp': '1763550133',
      'webhook-signature': `v1,${mac}`,
    });
  });

  test('verification fails on a changed body, another key or an old timestamp', () => {
    const headers = signatureHeaders(secret, 'tsf-1', 1000, 'body');
    expect(verifySignature(secret, headers, 'body', { nowSeconds: 1100 })).toBe(true);
    expect(verifySignature(secret, headers, 'body!', { nowSeconds: 1100 })).toBe(false);
    expect(
      verifySignature(new Secret('plain-text-key-000'), headers, 'body', { nowSeconds: 1100 }),
    ).toBe(false);
    expect(verifySignature(secret, headers, 'body', { nowSeconds: 2000 })).toBe(false);
    expect(
      verifySignature(secret, { ...headers, 'webhook-id': 'tsf-2' }, 'body', { nowSeconds: 1000 }),
    ).toBe(false);
  });
});

describe('failure classes', () => {
  const at = { method: 'POST', path: '/organizations/o/runs' };
  test('refusals are not done and retryable; gateway errors are in doubt; 404 is permanent', () => {
    expect(
      classifyFailure(new TallyfyRateLimitError('slow down', 7000, { ...at, status: 429 })),
    ).toEqual({
      code: 'TALLYFY_RATE_LIMITED',
      retryable: true,
      notDone: true,
      retryAfterMs: 7000,
      rateLimited: true,
    });
    expect(classifyFailure(new TallyfyServerError('x', { ...at, status: 503 }))).toMatchObject({
      retryable: true,
      notDone: true,
    });
    expect(classifyFailure(new TallyfyServerError('x', { ...at, status: 502 }))).toMatchObject({
      retryable: true,
      notDone: false,
    });
    expect(classifyFailure(new TallyfyNetworkError('x', 'reset', at))).toMatchObject({
      notDone: false,
    });
    expect(classifyFailure(new TallyfyNetworkError('x', 'refused', at))).toMatchObject({
      notDone: true,
    });
    expect(classifyFailure(new TallyfyNotFoundError('x', { ...at, status: 404 }))).toMatchObject({
      code: 'TALLYFY_NOT_FOUND',
      retryable: false,
      notDone: true,
    });
    expect(
      classifyFailure(new HttpPostError('x', { failure: 'status', status: 410 })),
    ).toMatchObject({
      code: 'AUTOMATIONS_HTTP_POST_REJECTED',
      retryable: false,
    });
    expect(classifyFailure(new HttpPostError('x', { failure: 'timeout' }))).toMatchObject({
      retryable: true,
      notDone: false,
    });
    expect(classifyFailure(new Error('boom'))).toMatchObject({ retryable: true, notDone: false });
  });

  test("an hourly action cap (RATE_LIMIT_EXCEEDED) is a delay with Tallyfy's wait, never permanent", () => {
    const capped = new TallyfyRateLimitError('cap', 3_600_000, {
      ...at,
      status: 429,
      actionCap: true,
    });
    expect(classifyFailure(capped)).toEqual({
      code: 'TALLYFY_RATE_LIMITED',
      retryable: true,
      notDone: true,
      retryAfterMs: 3_600_000,
      rateLimited: true,
    });
    // wrapped by the engine, the failure keeps saying so
    const wrapped = new ActionFailedError('r1', 0, 'TALLYFY_RATE_LIMITED', 'cap', {
      retryable: true,
      retryAfterMs: 3_600_000,
      rateLimited: true,
      cause: capped,
    });
    expect(classifyFailure(wrapped)).toMatchObject({
      retryable: true,
      rateLimited: true,
      retryAfterMs: 3_600_000,
    });
    // an app token on a user endpoint is the opposite: permanent, at once
    expect(
      classifyFailure(new TallyfyScopeError('app token', { ...at, status: 401 })),
    ).toMatchObject({
      code: 'TALLYFY_TOKEN_SCOPE_UNSUPPORTED',
      retryable: false,
      notDone: true,
      rateLimited: false,
    });
  });
});

describe('retry delays and limits', () => {
  test('the visibility backoff doubles per receive, is capped, jittered and honours Retry-After', () => {
    const policy = { baseSeconds: 10, maxSeconds: 900 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(n, policy, () => 0.5))).toEqual([
      10, 20, 40, 80, 160,
    ]);
    expect(retryDelaySeconds(30, policy, () => 0.5)).toBe(900);
    expect(retryDelaySeconds(1, policy, () => 0)).toBe(8);
    expect(retryDelaySeconds(1, policy, () => 0.999999)).toBe(12);
    expect(retryDelaySeconds(1, policy, () => 0.5, 95_500)).toBe(96);
    expect(retryDelaySeconds(1, policy, () => 0.5, 10 * 86_400_000)).toBe(43_200);
  });

  test('the limiter never runs more than its limit at once', async () => {
    const limit = createLimiter(2);
    let active = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const tasks = Array.from({ length: 6 }, () =>
      limit(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise<void>((resolve) => releases.push(resolve));
        active -= 1;
      }),
    );
    for (let i = 0; i < 6; i++) {
      await Promise.resolve();
      await new Promise((resolve) => setImmediate(resolve));
      releases.shift()?.();
    }
    await Promise.all(tasks);
    expect(peak).toBe(2);
    expect(() => createLimiter(0)).toThrow(RangeError);
  });
});
