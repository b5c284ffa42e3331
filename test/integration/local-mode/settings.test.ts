import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { localEnv, readEnvFile, readLocalSettings } from '../../../local/runtime/settings.ts';
import { ConfigError, loadConfig, SECTION_NAMES } from '../../../shared/config.ts';

describe('local mode settings', () => {
  test('PORT, DATA_DIR and SANDBOX_FRESH default to 3000, .data and false', () => {
    expect(readLocalSettings({})).toEqual({ port: 3000, dataDir: '.data', sandboxFresh: false });
    expect(readLocalSettings({ PORT: '0', DATA_DIR: '/tmp/x', SANDBOX_FRESH: 'true' })).toEqual({
      port: 0,
      dataDir: '/tmp/x',
      sandboxFresh: true,
    });
  });

  test('a malformed SANDBOX_FRESH is named with what it should hold', () => {
    expect(() => readLocalSettings({ SANDBOX_FRESH: 'yes' })).toThrow(
      expect.objectContaining({
        issues: [
          {
            variable: 'SANDBOX_FRESH',
            problem: 'malformed',
            expected: 'true or false',
            received: 'yes',
          },
        ],
      }),
    );
  });

  test('a malformed PORT is named with what it should hold', () => {
    for (const port of ['eighty', '65536', '-1', '3000.5']) {
      let error: unknown;
      try {
        readLocalSettings({ PORT: port });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        {
          variable: 'PORT',
          problem: 'malformed',
          expected: 'an integer from 0 to 65535 (0 = any free port)',
          received: port,
        },
      ]);
    }
  });

  test('.env is read as dotenv does: comments, quotes, no expansion of the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyfy-env-'));
    expect(readEnvFile(dir)).toEqual({});
    writeFileSync(
      join(dir, '.env'),
      '# local overrides\nPORT=4000\nLOG_LEVEL="debug"\nTALLYFY_BASE_URL=https://go.tallyfy.com/api\n',
    );
    expect(readEnvFile(dir)).toEqual({
      PORT: '4000',
      LOG_LEVEL: 'debug',
      TALLYFY_BASE_URL: 'https://go.tallyfy.com/api',
    });
  });

  test('defaults < .env < environment < the endpoints local mode started', () => {
    const env = localEnv(
      {
        envFile: { ORGS_TABLE: 'from-dotenv', LOG_LEVEL: 'debug', SQS_ENDPOINT: 'http://stale:1' },
        processEnv: { LOG_LEVEL: 'warn', EVENT_BUS_NAME: '  ' },
      },
      { SQS_ENDPOINT: 'http://127.0.0.1:4567' },
    );
    expect(env.ORGS_TABLE).toBe('from-dotenv');
    expect(env.LOG_LEVEL).toBe('warn');
    // blank counts as unset: the local default stays
    expect(env.EVENT_BUS_NAME).toBe('tallyfy-local');
    expect(env.SQS_ENDPOINT).toBe('http://127.0.0.1:4567');
    expect(env.SECRET_PREFIX).toBe('tallyfy-serverless/local');
  });

  test('the local defaults and started endpoints make a complete config for every section', () => {
    const url = 'http://127.0.0.1:9';
    const config = loadConfig(
      SECTION_NAMES,
      localEnv(
        {},
        {
          DYNAMODB_ENDPOINT: url,
          SECRETS_MANAGER_ENDPOINT: url,
          SQS_ENDPOINT: url,
          EVENTBRIDGE_ENDPOINT: url,
          EVENTS_QUEUE_URL: `${url}/000000000000/tallyfy-events`,
          EVENTS_DLQ_URL: `${url}/000000000000/tallyfy-events-dlq`,
        },
      ),
    );
    expect(config.orgs.tableName).toBe('tallyfy-orgs');
    expect(config.refreshRequests.target).toEqual({ kind: 'local' });
  });
});
