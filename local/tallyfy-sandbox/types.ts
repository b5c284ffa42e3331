import type { SandboxPersistence } from './persistence.ts';
import type { SandboxStore } from './store.ts';

/** A deterministic data set for big tests and benchmarks (see `generateDataset`). */
export interface SeedSpec {
  /** PRNG seed: the same spec always yields the same data. */
  seed: number;
  /** The "current time" the data is generated around (ISO). @default '2026-11-22T00:00:00.000Z' */
  now?: string;
  orgs: Array<SeedSpecOrg>;
}

export interface SeedSpecOrg {
  id: string;
  /** @default `Org <id>` */
  name?: string;
  /** IANA zone, reported on the org. @default 'UTC' */
  timezone?: string;
  /** Number of templates (each with as many steps as the largest process needs). */
  templates: number;
  /** Number of processes (runs). */
  processes: number;
  /** Tasks per process: a fixed number or an inclusive `[min, max]` range. */
  tasksPerProcess: number | [number, number];
  /** Share of open tasks whose deadline lies before `now`. @default 0.2 */
  overdueRatio?: number;
  /** Share of processes that are completed. @default 0.4 */
  completedRatio?: number;
  /** Users generated for the org (the first one is an admin with a password). @default 10 */
  users?: number;
}

export interface SandboxOptions {
  /** Port of the API (`/api`) and admin routes. @default 0 (a free port) */
  port?: number;
  /** Port of the token endpoint, an origin of its own as in production. @default 0 (a free port) */
  tokenPort?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Epoch ms; token expiry, timestamps and rate-limit windows use it. @default Date.now */
  clock?: () => number;
  /** Answered as `expires_in`. @default 3600 */
  accessTokenLifetimeSeconds?: number;
  /** @default 1209600 (14 days) */
  refreshTokenLifetimeSeconds?: number;
  /** Lifetime of app-issued user tokens. @default 7776000 (90 days) */
  appUserTokenLifetimeSeconds?: number;
  /** Added to every response; change with `setLatency`. @default 0 */
  latencyMs?: number;
  /** Fixed window per org + token. @default false */
  rateLimit?: RateLimit | false;
  /** Per-org hourly action caps (`RATE_LIMIT_EXCEEDED`). @default false */
  actionCaps?: ActionCaps | false;
  /** How a spent refresh token is refused. @default 'invalid_grant' */
  refreshTokenReuse?: 'invalid_grant' | 'invalid_request_401';
  /**
   * Sandbox addition: on reuse of a spent refresh token, also revoke every token of that
   * family (the "reuse detection" Tallyfy's newer OAuth server documents). @default false
   */
  refreshTokenReuseRevokesFamily?: boolean;
  /** @default 'demo' */
  seed?: 'demo' | 'none' | SeedSpec;
  /** @default true */
  webhookDelivery?: boolean;
  /** Per-attempt timeout of a webhook delivery. @default 5000 */
  webhookTimeoutMs?: number;
  /** Request log, one line per request (method, path, status, ms, request id; never tokens). */
  log?: (line: string) => void;
  /**
   * Keep the state on disk (`openSandboxState`): restored instead of seeded when saved state
   * exists; every change is durable before the answer or webhook it causes. @default in memory
   */
  persistence?: SandboxPersistence;
}

export interface RateLimit {
  limit: number;
  /** The window; a 429 carries `Retry-After` up to it (90 000: up to 90 s, beyond the client's cap). */
  windowMs: number;
}

/** Tallyfy's per-org hourly action caps: 429 with `code: "RATE_LIMIT_EXCEEDED"` beyond them. */
export interface ActionCaps {
  /** Comments per org and hour (Tallyfy documents 120). */
  commentsPerHour?: number;
  /** Answer the 429 without `Retry-After` (the caller must assume a wait). @default false */
  omitRetryAfter?: boolean;
}

export type Fault = {
  /** @default any */
  method?: string;
  /** A string must equal the path after `/api` (no query); a RegExp is tested against it. */
  path?: RegExp | string;
  /** @default 500 */
  status?: number;
  /** Sets `Retry-After` (for 429/503). */
  retryAfterSeconds?: number;
  /** @default `{"message": "Injected fault."}` */
  body?: unknown;
  /** How many matching requests to affect. @default Infinity */
  times?: number;
  /** 0..1: share of matching requests affected. @default 1 */
  probability?: number;
  /** Seed of the fault's own PRNG (for `probability`). @default 1 */
  seed?: number;
  /** @default 'status' */
  kind?: 'status' | 'reset' | 'hang';
  /**
   * `before` (default): the request is refused before anything happens. `after`: the request
   * is carried out (its effect and its webhooks happen) and the fault's status (or reset) is
   * answered instead of the success: a 500 or a lost answer that "took effect", the case an
   * idempotency check must find. Only with `kind` `status` or `reset`.
   */
  timing?: 'before' | 'after';
};

export interface SandboxStats {
  /** Requests by `METHOD /path-pattern` (e.g. `GET /organizations/:org/runs`). */
  requests: Record<string, number>;
  /** Tokens issued by grant type (`password`, `refresh_token`, `client_credentials`, `app_user`, `personal_access_token`). */
  grants: Record<string, number>;
  refreshTokenReuseRejected: number;
  /** Deliveries answered 2xx. */
  webhooksSent: number;
  /** Deliveries that failed (non-2xx, network error, timeout). */
  webhooksFailed: number;
  /** Events not sent because delivery was switched off. */
  webhooksSuppressed: number;
  rateLimited: number;
  faultsInjected: number;
}

export interface UserCredentials {
  id: string;
  email: string;
  password: string;
  fullName: string;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** Ids and credentials of the demo seed (`seed: 'demo'`). */
export interface DemoIds {
  orgId: string;
  orgName: string;
  /** Org admin (launcher in the fixtures). */
  admin: UserCredentials;
  /** Standard member (the finance approver). */
  standard: UserCredentials;
  /** Standard member (the buyer). */
  buyer: UserCredentials;
  /** Numeric client id for the password and refresh grants. */
  passwordClient: ClientCredentials;
  /** Client for `client_credentials` (bound to the demo org) and app-issued user tokens. */
  appClient: ClientCredentials;
  templates: {
    purchaseOrder: {
      id: string;
      steps: { requestDetails: string; approvePo: string; issuePo: string };
    };
    onboarding: { id: string };
  };
  runs: {
    /** The fixtures' PO run: request-details done, approve-po open and overdue, issue-po not started. */
    purchaseOrderOpen: string;
    purchaseOrderCompleted: string;
    onboardingActive: string;
    onboardingOverdue: string;
  };
  tasks: { requestDetails: string; approvePo: string; issuePo: string };
  groups: { finance: string; purchasing: string };
  guestEmail: string;
  tags: { itHardware: string; urgent: string };
}

export interface WebhookDelivery {
  orgId: string;
  /** `process.launched`, `task.completed`, `process.completed`, `task.comment_added`. */
  event: string;
  target: 'template' | 'step' | 'watcher';
  ok: boolean;
  status: number | null;
  at: string;
}

export interface Sandbox {
  /** API base URL, e.g. `http://127.0.0.1:PORT/api`. */
  readonly url: string;
  /** Server origin (`http://127.0.0.1:PORT`); admin routes live at `${origin}/_sandbox/…`. */
  readonly origin: string;
  /**
   * The OAuth token endpoint, `http://127.0.0.1:TOKEN_PORT/oauth/token`: another origin than the
   * API's, as `account.tallyfy.com` is in production (`${url}/oauth/token` does not exist).
   */
  readonly tokenUrl: string;
  /** Origin of the token endpoint. */
  readonly tokenOrigin: string;
  readonly demo: DemoIds;
  close(): Promise<void>;
  setLatency(ms: number): void;
  setRateLimit(limit: RateLimit | false): void;
  /** Change the per-org hourly action caps at run time. */
  setActionCaps(caps: ActionCaps | false): void;
  setWebhookDelivery(on: boolean): void;
  setWebhookUrl(orgId: string, url: string | null, scope?: { checklistId?: string }): void;
  injectFault(fault: Fault): () => void;
  clearFaults(): void;
  addOrg(org: { id: string; name: string; timezone?: string; dateFormat?: 'iso' | 'human' }): void;
  addUser(u: {
    id: string;
    orgId: string;
    email: string;
    password: string;
    fullName?: string;
    role?: 'admin' | 'standard' | 'light';
  }): void;
  addClient(c: { clientId: string; clientSecret: string; orgId?: string }): void;
  issuePersonalAccessToken(userId: string, opts?: { lifetimeSeconds?: number }): string;
  /** "The user logged out of the web app": their personal access tokens die (→ 401). */
  revokeUserTokens(userId: string): void;
  /** Revokes one access token of any kind (→ 401 from now on), e.g. seconds after it was issued. */
  revokeAccessToken(token: string): void;
  /** Completes a task through the same path as the API; resolves after its webhooks settled. */
  completeTask(orgId: string, taskId: string, userId?: string): Promise<void>;
  /** Resolves when every webhook delivery in flight has settled. */
  flushWebhooks(): Promise<void>;
  /** Webhook deliveries so far, oldest first (no URLs: they hold secrets). */
  webhookDeliveries(): readonly WebhookDelivery[];
  stats(): SandboxStats;
  readonly store: SandboxStore;
}
