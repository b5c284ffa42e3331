import { describe, expect, test } from 'vitest';
import { createLogger, memorySink, withCorrelation } from '../../../shared/observability/index.ts';
import { Secret } from '../../../shared/secret.ts';

const ACCESS = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXNlY3JldA';
const REFRESH = 'def50200a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6';
const PASSWORD = 'hunter2-Correct-Horse';

class TallyfyGrantError extends Error {
  override readonly name = 'TallyfyGrantError';
  readonly code = 'TALLYFY_GRANT_REJECTED';
  readonly refreshToken: Secret;
  constructor(message: string, refreshToken: Secret, options?: ErrorOptions) {
    super(message, options);
    this.refreshToken = refreshToken;
  }
}

function setup(level?: 'DEBUG' | 'INFO') {
  const captured = memorySink();
  const logger = createLogger({
    serviceName: 'token-refresher',
    sink: captured.sink,
    ...(level ? { level } : {}),
  });
  return { captured, logger };
}

describe('createLogger', () => {
  test('writes one JSON line per record with level, message, service and extra keys', () => {
    const { captured, logger } = setup();
    logger.info('org refreshed', { orgId: 'org-1', expiresAt: '2026-01-01T00:00:00.000Z' });
    const [record] = captured.records();
    expect(captured.lines).toHaveLength(1);
    expect(record).toMatchObject({
      level: 'INFO',
      message: 'org refreshed',
      service: 'token-refresher',
      orgId: 'org-1',
      expiresAt: '2026-01-01T00:00:00.000Z',
    });
    expect(typeof record?.timestamp).toBe('string');
  });

  test('records below the level are dropped; INFO is the default level', () => {
    const { captured, logger } = setup();
    logger.debug('noisy detail');
    logger.warn('worth seeing');
    expect(captured.records().map((r) => r.message)).toEqual(['worth seeing']);
    const debug = setup('DEBUG');
    debug.logger.debug('now visible');
    expect(debug.captured.records().map((r) => r.level)).toEqual(['DEBUG']);
  });

  test('Secrets in objects, arrays and nested structures are printed as [redacted]', () => {
    const { captured, logger } = setup();
    logger.info('granting', {
      credentials: { password: new Secret(PASSWORD), clientSecret: new Secret('cs-XYZ-123') },
      tokens: [new Secret(ACCESS), { refresh: new Secret(REFRESH) }],
      map: new Map([['k', new Secret(PASSWORD)]]),
    });
    const [line] = captured.lines;
    for (const value of [PASSWORD, ACCESS, REFRESH, 'cs-XYZ-123']) {
      expect(line).not.toContain(value);
    }
    expect(captured.records()[0]).toMatchObject({
      credentials: { password: '[redacted]', clientSecret: '[redacted]' },
      tokens: ['[redacted]', { refresh: '[redacted]' }],
    });
  });

  test('an error logged with its cause chain shows names and messages but no secret', () => {
    const { captured, logger } = setup();
    const root = new Error(`upstream said: Authorization: Bearer ${ACCESS}`);
    const middle = new Error(
      `POST /oauth/token failed: refresh_token=${REFRESH}&password=${PASSWORD}`,
      {
        cause: root,
      },
    );
    const err = new TallyfyGrantError('refresh token rejected', new Secret(REFRESH), {
      cause: middle,
    });
    logger.error('refresh failed', err);
    const [line] = captured.lines;
    for (const value of [PASSWORD, ACCESS, REFRESH]) expect(line).not.toContain(value);
    const error = captured.records()[0]?.error as Record<string, unknown>;
    expect(error).toMatchObject({
      name: 'TallyfyGrantError',
      message: 'refresh token rejected',
      code: 'TALLYFY_GRANT_REJECTED',
      refreshToken: '[redacted]',
      cause: {
        message: 'POST /oauth/token failed: refresh_token=[redacted]&password=[redacted]',
        cause: { message: 'upstream said: Authorization: Bearer [redacted]' },
      },
    });
    expect(String(error.stack)).toContain('TallyfyGrantError: refresh token rejected');
  });

  test('a Secret held in an error property is redacted', () => {
    const { captured, logger } = setup();
    const err = Object.assign(new Error('write failed'), { token: new Secret(ACCESS) });
    logger.error('token write failed', { err, orgId: 'org-1' });
    expect(captured.lines[0]).not.toContain(ACCESS);
    expect(captured.records()[0]).toMatchObject({ err: { token: '[redacted]' } });
  });

  test('withCorrelation adds orgId and eventId to every line of the child only', () => {
    const { captured, logger } = setup();
    const child = withCorrelation(logger, { orgId: 'org-7', eventId: 'evt-1', ruleId: undefined });
    child.info('rule matched');
    logger.info('batch done');
    const [childRecord, parentRecord] = captured.records();
    expect(childRecord).toMatchObject({ orgId: 'org-7', eventId: 'evt-1' });
    expect(childRecord).not.toHaveProperty('ruleId');
    expect(parentRecord).not.toHaveProperty('orgId');
  });

  test('children keep the sink, the level and the format of their parent', () => {
    const captured = memorySink();
    const logger = createLogger({
      serviceName: 'svc',
      sink: captured.sink,
      level: 'WARN',
      pretty: true,
    });
    const child = withCorrelation(logger, { orgId: 'org-2' });
    child.info('dropped');
    child.warn('kept');
    expect(captured.lines).toHaveLength(1);
    expect(captured.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}svc kept orgId=org-2$/);
  });

  test('appendKeys adds keys for the rest of an invocation until resetKeys', () => {
    const { captured, logger } = setup();
    logger.appendKeys({ orgId: 'org-3' });
    logger.info('one');
    logger.resetKeys();
    logger.info('two');
    expect(captured.records().map((r) => r.orgId)).toEqual(['org-3', undefined]);
  });

  test('pretty format is one human line plus the error and its causes, still redacted', () => {
    const captured = memorySink();
    const logger = createLogger({ serviceName: 'local', sink: captured.sink, pretty: true });
    const err = new Error('grant failed', { cause: new Error(`client_secret=${PASSWORD}`) });
    logger.error('refresh failed', {
      err: undefined,
      orgId: 'org-1',
      secret: new Secret(PASSWORD),
    });
    logger.error('refresh failed', err);
    const [first, second] = captured.lines;
    expect(first).toMatch(/ERROR local refresh failed orgId=org-1 secret=\[redacted\]$/);
    expect(second).toContain('\n  Error: grant failed');
    expect(second).toContain('\n  caused by: Error: client_secret=[redacted]');
    expect(captured.lines.join('\n')).not.toContain(PASSWORD);
  });
});
