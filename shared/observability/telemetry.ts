/**
 * The logger and metrics of one function, from the `log` config section: the same level,
 * service name and CloudWatch namespace in Lambda and local mode; only where lines go differs.
 */
import type { LogConfig } from '../config.ts';
import { createLogger, type Logger, type LogSink } from './logger.ts';
import { createMetrics, type MetricsSink, type TallyfyMetrics } from './metrics.ts';
import type { ServiceName } from './services.ts';

/** Where a function's telemetry goes, when not to stdout (local mode, tests). */
export interface TelemetryOutput {
  /** Human log lines instead of JSON. @default false */
  pretty?: boolean | undefined;
  /** @default stdout/stderr */
  logSink?: LogSink | undefined;
  /** @default one EMF line on stdout (Lambda's log agent turns it into metrics) */
  metricsSink?: MetricsSink | undefined;
}

export interface FunctionTelemetry {
  logger: Logger;
  metrics: TallyfyMetrics;
  /** Writes the stored metrics; call after every invocation. */
  flushMetrics: () => void;
}

/**
 * @example
 * const { logger, metrics, flushMetrics } = createFunctionTelemetry(config.log, SERVICE_NAMES.worker);
 */
export function createFunctionTelemetry(
  log: LogConfig,
  serviceName: ServiceName,
  output: TelemetryOutput = {},
): FunctionTelemetry {
  const logger = createLogger({
    serviceName,
    level: log.logLevel,
    pretty: output.pretty ?? false,
    ...(output.logSink ? { sink: output.logSink } : {}),
  });
  const metrics = createMetrics({
    namespace: log.metricsNamespace,
    serviceName,
    logger,
    ...(output.metricsSink ? { sink: output.metricsSink } : {}),
  });
  return { logger, metrics, flushMetrics: () => metrics.publishStoredMetrics() };
}
