export { TallyfyLogFormatter } from './log-formatter.ts';
export {
  type CorrelationKeys,
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  type LogLevelName,
  type LogSink,
  type MemorySink,
  memorySink,
  stdioSink,
  withCorrelation,
} from './logger.ts';
export {
  type CreateMetricsOptions,
  createMetrics,
  METRICS,
  type MetricName,
  type MetricsSink,
  stdoutMetricsSink,
  TallyfyMetrics,
} from './metrics.ts';
export {
  MAX_ERROR_MESSAGE_LENGTH,
  type SanitizedError,
  sanitizeError,
  scrubSecrets,
} from './sanitize.ts';
export { SERVICE_NAMES, type ServiceName } from './services.ts';
export { mapBundleStackTraces } from './stack-traces.ts';
export {
  createFunctionTelemetry,
  type FunctionTelemetry,
  type TelemetryOutput,
} from './telemetry.ts';
