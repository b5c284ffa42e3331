/**
 * The webhook receiver part (functions/webhook-receiver): an HTTP API with the one route
 * `POST /hooks/{orgId}/{secret}`, throttled, with access logs that never hold the path (the
 * secret is in it), the function behind it, and the 5xx alarm.
 */

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  type HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type Alarm, Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../../shared/observability/services.ts';
import { ARCHIVE_KEY_PREFIX } from '../../shared/webhooks/archive-key.ts';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import type { TallyfyFunction } from './function.ts';
import { acknowledgeRule } from './nag.ts';
import { accessForCalls, type TableCall } from './orgs-table.ts';

/**
 * The orgs-table calls of the receiver's code (shared/webhooks, shared/reconcile/seen.ts): the
 * org item's status and secret hashes, and one seen marker (`EVENT#<key>`/`SEEN`) per queued
 * webhook. Nothing else: no delete, no batch write, no org write.
 */
export const RECEIVER_TABLE_CALLS: readonly TableCall[] = ['findWebhookAuth', 'markSeenOne'];

/**
 * The metric the API's access logs yield for every request the stage throttled (429), in the
 * deployment's namespace without dimensions: a metric filter on the access logs emits it.
 */
export const WEBHOOKS_THROTTLED_METRIC = 'WebhooksThrottled';

/** The webhook route: Tallyfy posts to `<WebhookBaseUrl>/<orgId>/<secret>`. */
export const WEBHOOK_ROUTE_PATH = '/hooks/{orgId}/{secret}';

/**
 * Access log fields. `$context.routeKey` is the route template (`POST /hooks/{orgId}/{secret}`),
 * never the request path: the path holds the org's webhook secret, so `$context.path` must not
 * appear here (a test checks it).
 */
export const ACCESS_LOG_FIELDS = Object.freeze({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatencyMs: '$context.integrationLatency',
  error: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
});

/** Properties of {@link WebhookReceiver}. */
export interface WebhookReceiverProps {
  /** The integration whose table, queue, archive and alarm topic the receiver uses. */
  readonly integration: TallyfyIntegration;
  /** Handler module (`functions/webhook-receiver/index.ts`). */
  readonly entry: string;
  /** Steady-state requests per second the API accepts (over all orgs; 1-10000). */
  readonly rateLimit: number;
  /** Burst of requests the API accepts at once (the token bucket's size; 1-10000). */
  readonly burstLimit: number;
  /**
   * Retention of the API's access logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the access logs when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Function timeout.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Function memory in MiB.
   * @default 512
   */
  readonly memorySize?: number;
}

/**
 * HTTP API + receiver function. The function reads org items, writes seen markers (so the
 * reconciler knows the event arrived), archives raw bodies under `webhooks/` and sends to the
 * events queue; nothing else. Requests the stage throttles (429) are counted from the access
 * logs and alarmed on: Tallyfy never retries a webhook.
 *
 * @example
 * const receiver = new WebhookReceiver(integration, 'WebhookReceiver', {
 *   integration, entry, rateLimit: 1000, burstLimit: 2000,
 * });
 * receiver.webhookBaseUrl; // https://<id>.execute-api.<region>.amazonaws.com/hooks
 */
export class WebhookReceiver extends Construct {
  /** The function. */
  readonly fn: TallyfyFunction;
  /** The HTTP API. */
  readonly api: HttpApi;
  /** Its `$default` stage (throttling, access logs). */
  readonly stage: HttpStage;
  /** Access logs of the stage (no request paths). */
  readonly accessLogs: LogGroup;
  /** `https://…/hooks`: an org's webhook URL is this plus `/<orgId>/<secret>`. */
  readonly webhookBaseUrl: string;
  /** The API answered 5xx: a webhook may be lost (Tallyfy never retries). */
  readonly serverErrorAlarm: Alarm;
  /** The stage refused webhooks with 429: they are lost (Tallyfy never retries). */
  readonly throttledAlarm: Alarm;
  /** Counts the access log lines with status 429 into {@link WEBHOOKS_THROTTLED_METRIC}. */
  readonly throttledFilter: MetricFilter;

  private readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    const { integration } = props;
    for (const [name, value] of [
      ['rateLimit', props.rateLimit],
      ['burstLimit', props.burstLimit],
    ] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 10_000) {
        throw new Error(
          `WebhookReceiver: ${name} must be a whole number from 1 to 10000, got ${value}`,
        );
      }
    }

    this.fn = integration
      .addFunction('Function', {
        scope: this,
        part: SERVICE_NAMES.receiver,
        entry: props.entry,
        timeout: props.timeout ?? Duration.seconds(10),
        memorySize: props.memorySize,
      })
      .bindTable(integration.orgs.table, accessForCalls(RECEIVER_TABLE_CALLS))
      .bindEventsQueue(integration.events.queue)
      .bindArchiveBucket(integration.storage.archiveBucket, { keyPrefix: ARCHIVE_KEY_PREFIX });

    this.api = new HttpApi(this, 'Api', {
      description: 'tallyfy-serverless webhook receiver: POST /hooks/{orgId}/{secret}',
      createDefaultStage: false,
    });
    this.api.addRoutes({
      path: WEBHOOK_ROUTE_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('Receiver', this.fn.function, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
    });
    acknowledgeRule(
      this.api,
      'APIG4',
      'Tallyfy webhooks cannot carry credentials or signatures; the route is authorized by the per-org secret in the URL, checked in constant time against its SHA-256 by the function.',
    );

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.webhookBaseUrl = `${this.api.apiEndpoint}/hooks`;
    this.metricsNamespace = integration.metricsNamespace;
    this.throttledFilter = new MetricFilter(this, 'ThrottledFilter', {
      logGroup: this.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: this.metricsNamespace,
      metricName: WEBHOOKS_THROTTLED_METRIC,
      metricValue: '1',
    });

    this.serverErrorAlarm = integration.alarms.alarm(
      this,
      'ServerErrorsAlarm',
      this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      {
        description:
          'The webhook API answered 5xx: Tallyfy does not retry, so these webhooks were not stored; the reconciler should recover them (docs/operations.md#receiver-5xx).',
        threshold: 0,
      },
    );
    this.throttledAlarm = integration.alarms.alarm(this, 'ThrottledAlarm', this.metricThrottled(), {
      description: `The webhook API refused webhooks with 429 (stage throttling at ${props.rateLimit}/s, burst ${props.burstLimit}): Tallyfy does not retry, so they are lost (docs/operations.md#webhooks-throttled).`,
      threshold: 0,
    });
  }

  /** Webhooks the stage refused with 429 (from the access logs). Sum per 5 minutes. */
  metricThrottled(props?: MetricOptions): Metric {
    return new Metric({
      namespace: this.metricsNamespace,
      metricName: WEBHOOKS_THROTTLED_METRIC,
      statistic: 'Sum',
      period: Duration.minutes(5),
    }).with(props ?? {});
  }
}
