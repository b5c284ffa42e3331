import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { scrubSecrets } from './sanitize.ts';

/**
 * Powertools' standard JSON keys (`level`, `message`, `timestamp`, `service`, Lambda context,
 * `xray_trace_id`) followed by our keys, with one change: error messages and stacks are run
 * through {@link scrubSecrets}. Our own errors never carry a secret; third-party errors (an SDK
 * echoing a URL, a proxy echoing a header) might, and a log line is forever.
 */
export class TallyfyLogFormatter extends LogFormatter {
  override formatAttributes(
    attributes: UnformattedAttributes,
    additionalLogAttributes: LogAttributes,
  ): LogItem {
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: attributes.lambdaContext?.coldStart,
      function_name: attributes.lambdaContext?.functionName,
      function_request_id: attributes.lambdaContext?.awsRequestId,
      xray_trace_id: attributes.xRayTraceId,
    };
    return new LogItem({ attributes: base }).addAttributes(additionalLogAttributes);
  }

  override formatError(error: Error): LogAttributes {
    const formatted = super.formatError(error);
    if (typeof formatted.message === 'string') formatted.message = scrubSecrets(formatted.message);
    if (typeof formatted.stack === 'string') formatted.stack = scrubSecrets(formatted.stack);
    if (Array.isArray(formatted.stack)) {
      formatted.stack = formatted.stack.map((line: unknown) =>
        typeof line === 'string' ? scrubSecrets(line) : line,
      );
    }
    // a non-Error cause is kept by Powertools as is; scrub it when it is text
    if (typeof formatted.cause === 'string') formatted.cause = scrubSecrets(formatted.cause);
    return formatted;
  }
}
