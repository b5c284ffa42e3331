import type { LogItem } from '@aws-lambda-powertools/logger';
import { LogLevelThreshold, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import { TallyfyLogFormatter } from './log-formatter.ts';

/** Upper-case log level names, as in config (`LOG_LEVEL`). */
export type LogLevelName = keyof typeof LogLevelThreshold;

/**
 * Receives every log line after serialisation: one JSON object (or one pretty line) per call,
 * without a trailing newline. Tests pass {@link memorySink}; local mode may tee to a file.
 */
export type LogSink = (line: string, level: LogLevelName) => void;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** `service` key on every line, e.g. `token-refresher`. */
  serviceName: string;
  /**
   * Lowest level written, usually `config.log.logLevel`.
   * @default 'INFO' (never read from the environment here: config owns LOG_LEVEL)
   */
  level?: LogLevelName | Lowercase<LogLevelName>;
  /**
   * Human format (`12:00:01.234 INFO  token-refresher refreshed orgId=… `) instead of JSON;
   * local mode turns it on when stdout is a TTY.
   * @default false
   */
  pretty?: boolean;
  /**
   * Where lines go.
   * @default stdout for TRACE/DEBUG/INFO, stderr for WARN/ERROR/CRITICAL (as Powertools does)
   */
  sink?: LogSink;
  /** Keys on every line of this logger and its children, e.g. `{ stage: 'local' }`. */
  persistentKeys?: Record<string, unknown>;
}

/** Our logger: a Powertools Logger; its children keep the same sink and format. */
export type Logger = PowertoolsLogger;

/** Correlation keys our log lines carry (habit 12: org and event ids on every line). */
export interface CorrelationKeys {
  orgId?: string;
  eventId?: string;
  ruleId?: string;
  requestId?: string;
}

interface Output {
  readonly sink: LogSink;
  readonly pretty: boolean;
}

const LEVEL_BY_NUMBER = new Map<number, LogLevelName>(
  Object.entries(LogLevelThreshold).map(([name, value]) => [value, name as LogLevelName]),
);

/**
 * Powertools Logger with one change: lines go to a {@link LogSink} instead of Powertools'
 * private console. `printLog` and `createLogger` are the extension points Powertools keeps
 * protected for subclasses; serialisation still uses Powertools' JSON replacer, so `toJSON`
 * (and thus `Secret` → `[redacted]`), BigInt, circular references and Error formatting behave
 * exactly as in Powertools.
 */
class SinkLogger extends PowertoolsLogger {
  readonly #output: Output;

  constructor(options: ConstructorOptions, output: Output) {
    super(options);
    this.#output = output;
  }

  protected override createLogger(options?: ConstructorOptions): PowertoolsLogger {
    return new SinkLogger(options ?? {}, this.#output);
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const replacer = this.getJsonReplacer() as (key: string, value: unknown) => unknown;
    const json = JSON.stringify(log.getAttributes(), replacer);
    const level = LEVEL_BY_NUMBER.get(logLevel) ?? 'INFO';
    // #output does not exist yet while the Powertools constructor prints its start-up warnings
    const output = #output in this ? this.#output : defaultOutput;
    output.sink(
      output.pretty ? renderPretty(JSON.parse(json) as Record<string, unknown>) : json,
      level,
    );
  }
}

const defaultOutput: Output = { sink: stdioSink, pretty: false };

/**
 * Creates the structured logger of one function or process.
 *
 * @example
 * const logger = createLogger({ serviceName: 'event-worker', level: config.log.logLevel });
 * logger.info('event processed', { orgId, eventId });
 * const orgLogger = withCorrelation(logger, { orgId }); // every line carries orgId
 * orgLogger.error('refresh failed', err); // err.name/message/stack/cause, scrubbed
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const output: Output = {
    sink: options.sink ?? stdioSink,
    pretty: options.pretty ?? false,
  };
  return new SinkLogger(
    {
      serviceName: options.serviceName,
      logLevel: options.level ?? 'INFO',
      logFormatter: new TallyfyLogFormatter(),
      persistentKeys: options.persistentKeys ?? {},
    },
    output,
  );
}

/**
 * A child logger whose every line carries the given correlation keys (undefined keys are
 * left out). Pass the child to a use case; the parent is unchanged, so concurrent orgs in
 * one invocation never mix keys (unlike `appendKeys` on a shared logger).
 *
 * @example
 * const log = withCorrelation(logger, { orgId: 'org-1', eventId: 'evt-9' });
 * log.info('rule matched', { ruleId }); // {"orgId":"org-1","eventId":"evt-9","ruleId":…}
 */
export function withCorrelation(logger: Logger, keys: CorrelationKeys): Logger {
  const persistentKeys: Record<string, string> = {};
  for (const [key, value] of Object.entries(keys)) {
    if (typeof value === 'string') persistentKeys[key] = value;
  }
  return logger.createChild({ persistentKeys }) as Logger;
}

/** The default sink: one line per record on stdout, or stderr from WARN up. */
export function stdioSink(line: string, level: LogLevelName): void {
  const stream =
    level === 'WARN' || level === 'ERROR' || level === 'CRITICAL' ? process.stderr : process.stdout;
  stream.write(`${line}\n`);
}

/** A sink that keeps lines in memory: for tests, and for local mode's recent-log view. */
export interface MemorySink {
  readonly sink: LogSink;
  /** Every line written, in order. */
  readonly lines: readonly string[];
  /** Every line parsed as JSON (for a logger created without `pretty`). */
  records(): Record<string, unknown>[];
  /** Drops the lines kept so far. */
  clear(): void;
}

/**
 * @example
 * const captured = memorySink();
 * const logger = createLogger({ serviceName: 'test', sink: captured.sink });
 * logger.info('hello');
 * captured.records()[0]?.message; // 'hello'
 */
export function memorySink(): MemorySink {
  const lines: string[] = [];
  return {
    sink: (line) => {
      lines.push(line);
    },
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    clear: () => {
      lines.length = 0;
    },
  };
}

const PRETTY_SKIPPED = new Set(['level', 'message', 'timestamp', 'service', 'error']);

/**
 * `HH:MM:SS.mmm LEVEL service message key=value …`, then the error (name: message, stack
 * lines, causes) indented below. Works on the already-serialised record, so whatever JSON
 * would redact is redacted here too.
 */
function renderPretty(record: Record<string, unknown>): string {
  const time = typeof record.timestamp === 'string' ? record.timestamp.slice(11, 23) : '';
  const level = String(record.level ?? '').padEnd(5);
  const head = [time, level, record.service, record.message].filter((part) => part !== '');
  const pairs = Object.entries(record)
    .filter(([key, value]) => !PRETTY_SKIPPED.has(key) && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const lines = [[...head, ...pairs].join(' ')];
  let error: unknown = record.error;
  let depth = 0;
  while (typeof error === 'object' && error !== null && depth < 5) {
    const e = error as Record<string, unknown>;
    const prefix = depth === 0 ? '  ' : '  caused by: ';
    lines.push(`${prefix}${String(e.name ?? 'Error')}: ${String(e.message ?? '')}`);
    const extra = Object.entries(e).filter(
      ([key]) => !['name', 'message', 'stack', 'cause', 'location'].includes(key),
    );
    if (extra.length > 0)
      lines.push(`    ${extra.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
    const stack = Array.isArray(e.stack)
      ? (e.stack as unknown[]).map(String)
      : typeof e.stack === 'string'
        ? e.stack.split('\n')
        : [];
    for (const line of stack.slice(1, 6)) lines.push(`    ${line.trim()}`);
    error = e.cause;
    depth++;
  }
  if (typeof error === 'string') lines.push(`  caused by: ${error}`);
  return lines.join('\n');
}
