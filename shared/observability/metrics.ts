import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Dimensions, MetricsOptions } from '@aws-lambda-powertools/metrics/types';
import type { Logger } from './logger.ts';

/**
 * Every metric we emit, with its unit. Names are CloudWatch metric names (PascalCase); one
 * catalogue keeps dashboards, alarms (infra) and code agreeing on spelling.
 */
export const METRICS = {
  // token refresher
  OrgsDue: MetricUnit.Count,
  TokenRefreshSucceeded: MetricUnit.Count,
  TokenRefreshFailed: MetricUnit.Count,
  TokenRefreshDuration: MetricUnit.Milliseconds,
  /** A gauge: the orgs in `needs_reauth` at the end of every scheduled run (0 when none). */
  OrgsNeedingReauth: MetricUnit.Count,
  /** 1 per scheduled run, whatever happened: the heartbeat alarm breaches when it is missing. */
  RefreshRuns: MetricUnit.Count,
  LeaseContended: MetricUnit.Count,
  SecretWrites: MetricUnit.Count,
  KeepAliveChecks: MetricUnit.Count,
  /** After a scheduled run: seconds until the earliest `tokenExpiresAt` of an active org (infra alarms on it). */
  SoonestTokenExpiry: MetricUnit.Seconds,
  // webhook receiver
  WebhookAccepted: MetricUnit.Count,
  WebhookRejected: MetricUnit.Count,
  WebhookBodySize: MetricUnit.Bytes,
  // event worker
  EventsProcessed: MetricUnit.Count,
  EventsDuplicate: MetricUnit.Count,
  ActionsSucceeded: MetricUnit.Count,
  ActionsFailed: MetricUnit.Count,
  TokenRereads: MetricUnit.Count,
  RefreshRequestsSent: MetricUnit.Count,
  /** Transient failures sent back to the queue with a backoff. */
  EventsRetried: MetricUnit.Count,
  /** Permanent failures the worker sent to the DLQ itself (with failureReason). */
  EventsDeadLettered: MetricUnit.Count,
  /** Attempts that settled an earlier attempt in doubt: its effect found by lookup, redone (not found, or resent with its idempotency key), or marked done by the operator. */
  ActionsInDoubt: MetricUnit.Count,
  /** Rate-limited events sent back to the queue with a delay for the whole Retry-After (no receive used). */
  EventsDeferred: MetricUnit.Count,
  // reconciler
  EventsReconciled: MetricUnit.Count,
  /** Events the reconciler found through the API that never came by webhook: lost webhooks. */
  EventsRecovered: MetricUnit.Count,
  /** Events that arrived (seen) but have no processed or dead-lettered outcome after a grace period: lost work, re-enqueued. */
  EventsRescued: MetricUnit.Count,
  /** Orgs whose reconciliation failed in a run. */
  ReconcileFailures: MetricUnit.Count,
  // reporter
  ReportsWritten: MetricUnit.Count,
  ReportRows: MetricUnit.Count,
  // Tallyfy client
  TallyfyRequests: MetricUnit.Count,
  TallyfyThrottled: MetricUnit.Count,
  TallyfyRequestDuration: MetricUnit.Milliseconds,
} as const;

/** A metric name from {@link METRICS}. */
export type MetricName = keyof typeof METRICS;

/** Receives one EMF JSON document per flush (no trailing newline). */
export type MetricsSink = (emf: string) => void;

/** Options of {@link createMetrics}. */
export interface CreateMetricsOptions {
  /** CloudWatch namespace, e.g. `TallyfyServerless`. */
  namespace: string;
  /** `service` dimension on every metric, e.g. `token-refresher`. */
  serviceName: string;
  /** More dimensions on every metric (keep them few: each one multiplies CloudWatch cost). */
  defaultDimensions?: Dimensions;
  /** @default one line on stdout, where Lambda's log agent turns EMF into metrics */
  sink?: MetricsSink;
  /** Receives Powertools' warnings (e.g. too many dimensions) instead of its console. */
  logger?: Logger;
}

/**
 * Powertools Metrics (EMF) whose flushes go to a {@link MetricsSink}, plus `record()` that
 * takes its unit from {@link METRICS}. Everything else (dimensions, metadata, `logMetrics`
 * middleware, the 100-metric auto-flush) is Powertools' own.
 */
export class TallyfyMetrics extends PowertoolsMetrics {
  readonly #sink: MetricsSink;
  readonly #singleOptions: MetricsOptions;

  constructor(options: MetricsOptions, sink: MetricsSink) {
    super(options);
    this.#sink = sink;
    this.#singleOptions = { ...options, singleMetric: true };
  }

  /**
   * Adds a catalogued metric with its catalogued unit.
   * @example metrics.record('TokenRefreshSucceeded'); metrics.record('TokenRefreshDuration', 812);
   */
  record(name: MetricName, value = 1): this {
    this.addMetric(name, METRICS[name], value);
    return this;
  }

  /** Writes the stored metrics as one EMF document to the sink, then clears them. */
  override publishStoredMetrics(): this {
    try {
      // an empty flush is normal (an invocation that did nothing): write nothing, say nothing
      if (this.hasStoredMetrics()) this.#sink(JSON.stringify(this.serializeMetrics()));
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }

  /** Like Powertools' `singleMetric()`, but writing to the same sink. */
  override singleMetric(): TallyfyMetrics {
    return new TallyfyMetrics(this.#singleOptions, this.#sink);
  }
}

/**
 * Creates the metrics recorder of one function. Call `publishStoredMetrics()` at the end of
 * each invocation (or use Powertools' `logMetrics` middleware).
 *
 * @example
 * const metrics = createMetrics({ namespace: 'TallyfyServerless', serviceName: 'event-worker' });
 * metrics.record('EventsProcessed', records.length);
 * metrics.publishStoredMetrics(); // {"_aws":{…"Metrics":[{"Name":"EventsProcessed","Unit":"Count"}]…}
 */
export function createMetrics(options: CreateMetricsOptions): TallyfyMetrics {
  const metricsOptions: MetricsOptions = {
    namespace: options.namespace,
    serviceName: options.serviceName,
    defaultDimensions: { service: options.serviceName, ...options.defaultDimensions },
  };
  if (options.logger) metricsOptions.logger = options.logger;
  return new TallyfyMetrics(metricsOptions, options.sink ?? stdoutMetricsSink);
}

/** The default metrics sink: one EMF line on stdout. */
export function stdoutMetricsSink(emf: string): void {
  process.stdout.write(`${emf}\n`);
}
