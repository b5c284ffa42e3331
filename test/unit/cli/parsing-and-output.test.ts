/** Parsing, validation and rendering helpers of the CLI. */
import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../../../bin/errors.ts';
import { explain } from '../../../bin/explain.ts';
import { formatDuration, parseDurationSeconds, relative } from '../../../bin/format.ts';
import { fields, table } from '../../../bin/io.ts';
import { parseSecretsJson } from '../../../bin/secret-input.ts';
import { findRefreshOutcome, tokenState } from '../../../bin/tokens/state.ts';
import { type Org, OrgAlreadyExistsError, OrgNotFoundError } from '../../../shared/orgs/index.ts';
import { OAuthError } from '../../../shared/tallyfy/index.ts';

const SECRET = 'value-that-must-never-be-quoted';

describe('secrets JSON', () => {
  it('turns the secret fields into Secrets and keeps plain fields apart', () => {
    const parsed = parseSecretsJson(
      JSON.stringify({ clientSecret: SECRET, password: 'p', clientId: '3127' }),
      'password',
      'stdin',
    );
    expect(parsed.plain).toEqual({ clientId: '3127' });
    expect(parsed.secrets.clientSecret?.reveal()).toBe(SECRET);
    expect(JSON.stringify(parsed)).not.toContain(SECRET);
  });

  it.each([
    [`{"clientSecret": "${SECRET}"`, /not valid JSON/],
    [JSON.stringify({ clientSecret: SECRET }), /password is missing/],
    [
      JSON.stringify({ clientSecret: SECRET, password: SECRET, client_secret: SECRET }),
      /unknown key\(s\) client_secret/,
    ],
    [
      JSON.stringify({ clientSecret: 42, password: SECRET }),
      /clientSecret must be a non-empty string/,
    ],
    [JSON.stringify([SECRET]), /do not fit auth mode password/],
  ])('names the problem without quoting a value: %#', (text, message) => {
    let caught: unknown;
    try {
      parseSecretsJson(text, 'password', 'stdin');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CliError);
    const error = caught as CliError;
    expect(error.message).toMatch(message);
    expect(`${error.message} ${error.hint}`).not.toContain(SECRET);
    expect(error.exitCode).toBe(EXIT.usage);
  });

  it('asks for the fields of each auth mode', () => {
    expect(
      parseSecretsJson('{"token":"t"}', 'personal_access_token', 'file').secrets.token?.reveal(),
    ).toBe('t');
    expect(() => parseSecretsJson('{"token":"t"}', 'app_user_token', 'file')).toThrow(
      /appClientSecret is missing/,
    );
  });
});

describe('durations and times', () => {
  it.each([
    [45_000, '45s'],
    [59 * 60_000, '59m'],
    [3 * 3_600_000 + 5 * 60_000, '3h 5m'],
    [2 * 86_400_000 + 3_600_000, '2d 1h'],
    [-90 * 60_000, '-1h 30m'],
  ])('formatDuration(%i) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('relative times and grace durations', () => {
    expect(relative('2026-01-01T01:00:00Z', Date.parse('2026-01-01T00:00:00Z'))).toBe('in 1h');
    expect(relative('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:10:00Z'))).toBe('10m ago');
    expect(relative(undefined, 0)).toBe('—');
    expect(parseDurationSeconds('24h')).toBe(86_400);
    expect(parseDurationSeconds('0')).toBe(0);
    expect(parseDurationSeconds('7d')).toBe(604_800);
    expect(parseDurationSeconds('soon')).toBeUndefined();
  });

  it('tables align columns; fields drop absent values', () => {
    expect(
      table(
        ['A', 'LONGER'],
        [
          ['xyz', '1'],
          ['q', '22'],
        ],
      ),
    ).toEqual(['A    LONGER', 'xyz  1', 'q    22']);
    expect(
      fields([
        ['Org', 'o1'],
        ['Timezone', undefined],
        ['Status', 'active'],
      ]),
    ).toEqual(['Org:    o1', 'Status: active']);
  });
});

describe('token state', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const org = (patch: Partial<Org>): Org =>
    ({
      orgId: 'o1',
      name: 'O',
      authMode: 'password',
      credentialsSecretId: 'c',
      tokenSecretId: 't',
      webhookSecretHash: 'a'.repeat(64),
      status: 'active',
      consecutiveFailures: 0,
      version: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      settings: {},
      ...patch,
    }) as Org;
  it.each([
    [{}, 'pending'],
    [{ tokenExpiresAt: '2026-03-01T13:00:00.000Z' }, 'healthy'],
    [{ tokenExpiresAt: '2026-03-01T12:10:00.000Z' }, 'expiring'],
    [{ tokenExpiresAt: '2026-03-01T11:00:00.000Z' }, 'expired'],
    [{ tokenExpiresAt: '2026-03-01T13:00:00.000Z', consecutiveFailures: 2 }, 'failing'],
    [{ consecutiveFailures: 1 }, 'failing'],
    [{ status: 'needs_reauth' as const }, 'needs_reauth'],
    [{ status: 'disabled' as const, tokenExpiresAt: '2026-03-01T13:00:00.000Z' }, 'disabled'],
    [
      {
        tokenExpiresAt: '2026-03-01T12:10:00.000Z',
        lease: { owner: 'r1', until: '2026-03-01T12:01:00.000Z', fence: 3 },
      },
      'refreshing',
    ],
    [
      {
        tokenExpiresAt: '2026-03-01T13:00:00.000Z',
        lease: { owner: 'r1', until: '2026-03-01T11:59:00.000Z', fence: 3 },
      },
      'healthy',
    ],
  ])('%j → %s', (patch, state) => {
    expect(tokenState(org(patch), now)).toBe(state);
  });
});

describe("the refresher's answer", () => {
  const result = {
    orgId: 'o1',
    outcome: 'refreshed',
    grant: 'password',
    expiresAt: '2026-03-01T13:00:00.000Z',
  };
  it('is found in each shape the refresher may answer', () => {
    expect(findRefreshOutcome({ kind: 'on-demand', result }, 'o1')?.outcome).toBe('refreshed');
    expect(findRefreshOutcome(result, 'o1')?.grant).toBe('password');
    expect(findRefreshOutcome([{ ...result, orgId: 'o2' }, result], 'o1')?.orgId).toBe('o1');
    expect(findRefreshOutcome({ results: [result] }, 'o1')).toBeDefined();
    expect(findRefreshOutcome({ kind: 'on-demand', result }, 'o2')).toBeUndefined();
    expect(findRefreshOutcome(null, 'o1')).toBeUndefined();
  });
});

describe('errors map to exit codes', () => {
  it.each([
    [new OrgNotFoundError('o1'), 'CLI_ORG_NOT_FOUND', EXIT.notFound],
    [new OrgAlreadyExistsError('o1'), 'CLI_ORG_ALREADY_EXISTS', EXIT.conflict],
    [
      new OAuthError('TALLYFY_OAUTH_CREDENTIALS_INVALID', 'password', 'bad user', {
        needsReauth: true,
        transient: false,
        method: 'POST',
        path: '/oauth/token',
      }),
      'CLI_CREDENTIALS_REJECTED',
      EXIT.credentials,
    ],
    [
      new OAuthError('TALLYFY_NETWORK_ERROR', 'password', 'down', {
        needsReauth: false,
        transient: true,
        method: 'POST',
        path: '/oauth/token',
      }),
      'CLI_REMOTE_FAILED',
      EXIT.unavailable,
    ],
    [new TypeError('boom'), 'CLI_UNEXPECTED', EXIT.error],
  ])('%s', (error, code, exitCode) => {
    const mapped = explain(error);
    expect(mapped.code).toBe(code);
    expect(mapped.exitCode).toBe(exitCode);
  });
});
