/**
 * Local mode's own variables (`PORT`, `DATA_DIR`) and the environment record it hands to
 * `loadConfig`: the optional `.env`, then the process environment, over local defaults, with
 * the endpoints of the engines it started always winning (they are only known at start).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import * as z from 'zod';
import {
  defaultsTo,
  integer,
  matching,
  readVariable,
  variable,
} from '../../shared/config/variable.ts';
import { ConfigError, type ConfigIssue, type EnvRecord } from '../../shared/config.ts';

/** The variables only local mode reads (documented in docs/local.md). */
export const LOCAL_VARIABLES = {
  port: variable(
    'PORT',
    integer(0, 65_535),
    'an integer from 0 to 65535 (0 = any free port)',
    'Port of the local HTTP server: webhooks, /health, /_local/invoke',
    defaultsTo('3000'),
  ),
  dataDir: variable(
    'DATA_DIR',
    matching(/^[^\0]{1,4096}$/),
    'a directory path',
    'Where local mode keeps its data (DynamoDB, secrets, queues, archive, local.json)',
    defaultsTo('.data'),
  ),
  sandboxFresh: variable(
    'SANDBOX_FRESH',
    z.enum(['true', 'false']).transform((text) => text === 'true') as z.ZodType<boolean, string>,
    'true or false',
    'Start the sandbox from its seed; its saved state is kept aside (never deleted)',
    defaultsTo('false'),
  ),
} as const;

export interface LocalSettings {
  port: number;
  dataDir: string;
  /** Start the sandbox from its seed instead of its saved state. */
  sandboxFresh: boolean;
}

/**
 * Reads `PORT`, `DATA_DIR` and `SANDBOX_FRESH`.
 * @throws ConfigError naming each bad variable
 */
export function readLocalSettings(env: EnvRecord): LocalSettings {
  const issues: ConfigIssue[] = [];
  const port = readVariable(LOCAL_VARIABLES.port, env);
  const dataDir = readVariable(LOCAL_VARIABLES.dataDir, env);
  const sandboxFresh = readVariable(LOCAL_VARIABLES.sandboxFresh, env);
  if (!port.ok) issues.push(port.issue);
  if (!dataDir.ok) issues.push(dataDir.issue);
  if (!sandboxFresh.ok) issues.push(sandboxFresh.issue);
  if (!port.ok || !dataDir.ok || !sandboxFresh.ok) throw new ConfigError(issues);
  return {
    port: port.value ?? 3000,
    dataDir: dataDir.value ?? '.data',
    sandboxFresh: sandboxFresh.value ?? false,
  };
}

/**
 * The variables of `<dir>/.env` (`KEY=value` lines, `#` comments, quotes as dotenv reads
 * them), or `{}` when there is no such file.
 */
export function readEnvFile(dir: string): Record<string, string> {
  const path = resolve(dir, '.env');
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

/** Names local mode gives its own resources unless the environment names them. */
export const LOCAL_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  AWS_REGION: 'us-east-1',
  ORGS_TABLE: 'tallyfy-orgs',
  SECRET_PREFIX: 'tallyfy-serverless/local',
  EVENT_BUS_NAME: 'tallyfy-local',
  // the archive and reports are files under DATA_DIR locally; the names only satisfy config
  ARCHIVE_BUCKET: 'local-archive',
  REPORTS_BUCKET: 'local-reports',
  REFRESH_REQUESTS: 'local',
});

/**
 * The record local mode passes to `loadConfig`: defaults < `.env` < process environment <
 * `overrides` (the endpoints local mode started, which a stale variable must not redirect).
 */
export function localEnv(
  layers: { envFile?: EnvRecord; processEnv?: EnvRecord },
  overrides: EnvRecord = {},
): EnvRecord {
  const merged: Record<string, string | undefined> = { ...LOCAL_DEFAULTS };
  for (const layer of [layers.envFile ?? {}, layers.processEnv ?? {}, overrides]) {
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined && value.trim() !== '') merged[key] = value;
    }
  }
  return Object.freeze(merged);
}
