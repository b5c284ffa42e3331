/**
 * The service name of each function: its folder under `functions/`, the `service` field of its
 * log lines and the `service` dimension of its metrics. Infra names alarms and dashboards from
 * here, local mode names its functions from here: one definition.
 */
export const SERVICE_NAMES = Object.freeze({
  receiver: 'webhook-receiver',
  worker: 'event-worker',
  refresher: 'token-refresher',
  reconciler: 'reconciler',
  reporter: 'reporter',
} as const);

/** One of {@link SERVICE_NAMES}' values, e.g. `token-refresher`. */
export type ServiceName = (typeof SERVICE_NAMES)[keyof typeof SERVICE_NAMES];
