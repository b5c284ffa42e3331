/**
 * Configuration: the one place that reads environment variables (see docs/configuration.md).
 *
 * Each function names the sections it needs; `log` and `aws` are always loaded. Every variable
 * of those sections is validated at once and an invalid environment throws one
 * {@link ConfigError} listing each bad variable, so a cold start fails loudly and completely.
 *
 * @example
 * // functions/event-worker/index.ts, at module scope
 * const config = loadConfig(['tallyfy', 'orgs', 'secrets', 'tokens', 'refreshRequests', 'bus', 'dedupe']);
 * config.tallyfy.baseUrl; // 'https://go.tallyfy.com/api'
 *
 * // local mode passes its own record instead of process.env
 * const local = loadConfig(['orgs'], { ORGS_TABLE: 'orgs', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' });
 */
import { SECTIONS } from './config/sections.ts';
import {
  type ConfigIssue,
  type EnvRecord,
  type Fallback,
  readVariable,
  type Variable,
  type VariableValue,
} from './config/variable.ts';

export { ConfigError, type ConfigIssue, type EnvRecord } from './config/variable.ts';

import { ConfigError } from './config/variable.ts';

type Sections = typeof SECTIONS;

/** Names of the config sections: `log`, `aws`, `tallyfy`, `orgs`, `secrets`, … */
export type SectionName = keyof Sections;

/** The typed, frozen value of one section. */
export type SectionConfig<S extends SectionName> = Readonly<{
  [K in keyof Sections[S]]: VariableValue<Sections[S][K]>;
}>;

/** What {@link loadConfig} returns: the sections asked for plus `log` and `aws`. */
export type Config<S extends SectionName = SectionName> = Readonly<{
  [K in S | 'log' | 'aws']: SectionConfig<K>;
}>;

export type LogConfig = SectionConfig<'log'>;
export type AwsConfig = SectionConfig<'aws'>;
export type TallyfyConfig = SectionConfig<'tallyfy'>;
export type OrgsConfig = SectionConfig<'orgs'>;
export type SecretsConfig = SectionConfig<'secrets'>;
export type TokensConfig = SectionConfig<'tokens'>;
export type RefresherConfig = SectionConfig<'refresher'>;
export type RefreshRequestsConfig = SectionConfig<'refreshRequests'>;
export type RefreshRequestTarget = RefreshRequestsConfig['target'];
export type QueueConfig = SectionConfig<'queue'>;
export type BusConfig = SectionConfig<'bus'>;
export type ArchiveConfig = SectionConfig<'archive'>;
export type WebhookConfig = SectionConfig<'webhook'>;
export type DedupeConfig = SectionConfig<'dedupe'>;
export type ReconcilerConfig = SectionConfig<'reconciler'>;
export type ReportsConfig = SectionConfig<'reports'>;
export type SchedulesConfig = SectionConfig<'schedules'>;

/** Every section name, in documentation order. */
export const SECTION_NAMES = Object.freeze(Object.keys(SECTIONS) as SectionName[]);

/**
 * Reads and validates the sections a function needs (plus `log` and `aws`) from `env`.
 *
 * @param sections - the sections to load; duplicates are harmless
 * @param env - the environment record; defaults to `process.env` (the only read of it in the
 *   codebase); local mode and the CLI pass their own record
 * @returns a deeply frozen object keyed by section name
 * @throws ConfigError listing every unset or malformed variable of those sections
 *
 * @example
 * const { orgs, secrets } = loadConfig(['orgs', 'secrets']);
 */
export function loadConfig<const S extends SectionName>(
  sections: readonly S[],
  env: EnvRecord = process.env,
): Config<S> {
  const wanted = new Set<SectionName>(['log', 'aws', ...sections]);
  const issues: ConfigIssue[] = [];
  const config: Record<string, unknown> = {};
  for (const name of SECTION_NAMES) {
    if (!wanted.has(name)) continue;
    const section: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(SECTIONS[name]) as [
      string,
      Variable<unknown, Fallback>,
    ][]) {
      const read = readVariable(v, env, section);
      if (read.ok) section[key] = deepFreeze(read.value);
      else issues.push(read.issue);
    }
    config[name] = Object.freeze(section);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze(config) as Config<S>;
}

/** One row of the configuration reference (docs/configuration.md is checked against these). */
export interface VariableDescription {
  readonly variable: string;
  readonly section: SectionName;
  /** The default text, `(optional)` or `(required)`. */
  readonly default: string;
  readonly expected: string;
  readonly meaning: string;
}

/** Describes every variable, for docs and for `--help`-style output in the CLI and local mode. */
export function describeConfig(): readonly VariableDescription[] {
  return SECTION_NAMES.flatMap((section) =>
    (Object.values(SECTIONS[section]) as Variable<unknown, Fallback>[]).map((v) =>
      Object.freeze({
        variable: v.name,
        section,
        default:
          v.fallback.kind === 'default' || v.fallback.kind === 'derived'
            ? v.fallback.text
            : `(${v.fallback.kind})`,
        expected: v.expected,
        meaning: v.meaning,
      }),
    ),
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
