import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { html, trusted } from '../../../bin/console/html.ts';
import {
  checkCsrf,
  checkLoopback,
  consoleOrigins,
  newConsoleSecrets,
  sameSecret,
} from '../../../bin/console/security.ts';

/** The parts of a request the checks read. */
const request = (headers: Record<string, string>, remoteAddress = '127.0.0.1'): IncomingMessage =>
  ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('loopback rules', () => {
  test('a loopback peer with a loopback Host on our port passes', () => {
    for (const host of ['127.0.0.1:4180', 'localhost:4180', '[::1]:4180']) {
      expect(checkLoopback(request({ host }), 4180)).toBeUndefined();
    }
    expect(
      checkLoopback(request({ host: '127.0.0.1:4180' }, '::ffff:127.0.0.1'), 4180),
    ).toBeUndefined();
  });

  test('another peer, another Host (DNS rebinding), another port or a forwarding header is refused', () => {
    expect(checkLoopback(request({ host: '127.0.0.1:4180' }, '10.0.0.7'), 4180)?.status).toBe(403);
    expect(checkLoopback(request({ host: 'evil.example:4180' }), 4180)?.status).toBe(403);
    expect(checkLoopback(request({ host: 'localhost.evil.example' }), 80)?.status).toBe(403);
    expect(checkLoopback(request({ host: '127.0.0.1:9999' }), 4180)?.status).toBe(403);
    expect(checkLoopback(request({}), 4180)?.status).toBe(403);
    for (const header of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip']) {
      expect(
        checkLoopback(request({ host: '127.0.0.1:4180', [header]: '203.0.113.9' }), 4180)?.status,
      ).toBe(403);
    }
  });
});

describe('CSRF rules', () => {
  const secrets = newConsoleSecrets();
  const origins = consoleOrigins(4180);
  const form = (csrf?: string) => new URLSearchParams(csrf === undefined ? {} : { csrf });

  test('our form token from our origin passes', () => {
    expect(
      checkCsrf(
        request({ origin: 'http://127.0.0.1:4180', 'sec-fetch-site': 'same-origin' }),
        form(secrets.formToken),
        secrets,
        origins,
      ),
    ).toBeUndefined();
  });

  test('a missing or wrong token, another origin, an opaque origin or a cross-site fetch is refused', () => {
    const ours = request({ origin: 'http://127.0.0.1:4180' });
    expect(checkCsrf(ours, form(), secrets, origins)?.message).toMatch(/form token/);
    expect(checkCsrf(ours, form(secrets.urlToken), secrets, origins)?.status).toBe(403);
    expect(checkCsrf(ours, form(`${secrets.formToken}x`), secrets, origins)?.status).toBe(403);
    for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1:9999']) {
      expect(
        checkCsrf(request({ origin }), form(secrets.formToken), secrets, origins)?.message,
      ).toMatch(/another site/);
    }
    expect(
      checkCsrf(
        request({ 'sec-fetch-site': 'cross-site' }),
        form(secrets.formToken),
        secrets,
        origins,
      )?.status,
    ).toBe(403);
  });

  test('per-start secrets are long, random and distinct; comparison is exact', () => {
    const a = newConsoleSecrets();
    const b = newConsoleSecrets();
    expect(a.urlToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([a.urlToken, a.formToken, b.urlToken, b.formToken]).size).toBe(4);
    expect(sameSecret(a.urlToken, a.urlToken)).toBe(true);
    expect(sameSecret(a.urlToken, a.urlToken.slice(1))).toBe(false);
  });
});

describe('html', () => {
  test('interpolated text is escaped; only trusted markup is not', () => {
    const name = '<img src=x onerror=alert(1)>';
    expect(html`<td>${name}</td>`.toString()).toBe('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(html`<p title="${'"quoted"'}">${trusted('<b>ok</b>')}</p>`.toString()).toBe(
      '<p title="&quot;quoted&quot;"><b>ok</b></p>',
    );
  });
});
