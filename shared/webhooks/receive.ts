/**
 * The webhook receiver's use case: authenticate, validate, archive, enqueue, answer.
 * See docs/webhooks.md for the answers table and the reasons behind each rule.
 */
import {
  createEnvelope,
  type EventEnvelope,
  type EventQueue,
  MessageTooLargeError,
  type RawArchive,
} from '../events/index.ts';
import type { Logger } from '../observability/index.ts';
import { isOrgId } from '../orgs/index.ts';
import type { Secret } from '../secret.ts';
import { webhookArchiveKey } from './archive-key.ts';
import { verifyWebhookSecret, type WebhookAuthLookup } from './auth.ts';
import { classifyWebhook, type WebhookIssue } from './schemas.ts';

/** Largest body accepted by default: 256 KiB (`WEBHOOK_MAX_BODY_BYTES`). */
export const DEFAULT_MAX_BODY_BYTES = 262_144;

/** A URL secret is 32 random bytes in base64url (43 characters); allow some slack. */
const SECRET_MAX_LENGTH = 256;

/** The metrics the receiver records (a subset of the observability catalogue). */
export interface ReceiverMetrics {
  record(name: 'WebhookAccepted' | 'WebhookRejected' | 'WebhookBodySize', value?: number): unknown;
}

/** Limits of {@link receiveWebhook}. */
export interface ReceiveLimits {
  /**
   * Largest raw body (after base64 decoding) accepted; larger gets 413.
   * @default DEFAULT_MAX_BODY_BYTES (256 KiB)
   */
  maxBodyBytes?: number;
}

/** Ports of {@link receiveWebhook}. */
export interface ReceiveDeps {
  /** Org auth, usually {@link cachedWebhookAuthLookup} over the org registry. */
  auth: WebhookAuthLookup;
  queue: EventQueue;
  archive: RawArchive;
  /** Epoch ms. */
  clock: () => number;
  logger: Logger;
  limits?: ReceiveLimits;
  metrics?: ReceiverMetrics;
}

/** One webhook request, transport-neutral (the handler maps API Gateway to this). */
export interface ReceiveRequest {
  /** `{orgId}` of `/hooks/{orgId}/{secret}`. */
  orgId: string;
  /** `{secret}` of the URL; never logged. */
  secret: Secret;
  /** Request headers; names are matched case-insensitively. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as received; `undefined` for none. */
  body: string | Uint8Array | undefined;
  /** `body` is a base64 string of the raw bytes (API Gateway does this for binary bodies). */
  isBase64Encoded?: boolean;
  /** Correlation id put on every log line (API Gateway's request id). */
  requestId?: string;
}

/**
 * Every code of the receiver's error answers (docs/webhooks.md, docs/errors.md); the handler's
 * 405 for a method other than POST is `WEBHOOKS_METHOD_NOT_ALLOWED`.
 */
export const WEBHOOKS_ERROR_CODES = [
  'WEBHOOKS_UNAUTHORIZED',
  'WEBHOOKS_BODY_TOO_LARGE',
  'WEBHOOKS_MEDIA_TYPE_UNSUPPORTED',
  'WEBHOOKS_JSON_INVALID',
  'WEBHOOKS_BODY_INVALID',
  'WEBHOOKS_PAYLOAD_INVALID',
  'WEBHOOKS_UNAVAILABLE',
  'WEBHOOKS_METHOD_NOT_ALLOWED',
] as const;

/** Stable codes of the error answers. */
export type ReceiveErrorCode = Exclude<
  (typeof WEBHOOKS_ERROR_CODES)[number],
  'WEBHOOKS_METHOD_NOT_ALLOWED'
>;

/** Body of an error answer; `issues` only for `WEBHOOKS_PAYLOAD_INVALID`. */
export interface ReceiveErrorBody {
  error: { code: ReceiveErrorCode; message: string; issues?: WebhookIssue[] };
}

/** The answer to send: 202 `{accepted, id}`, or 4xx/503 `{error: {code, message}}`. */
export type ReceiveResponse =
  | { status: 202; body: { accepted: true; id: string } }
  | { status: 400 | 401 | 413 | 415 | 503; body: ReceiveErrorBody };

const UNAUTHORIZED_MESSAGE = 'The webhook URL is not valid for an active organization.';
const UNAVAILABLE_MESSAGE = 'The event could not be stored and was not accepted; send it again.';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Receives one webhook: 401 unless the org exists, is not disabled, the URL secret matches one
 * of its hashes (constant time) and `X-Tallyfy-orgID`, when sent, names the same org; 413 over
 * the size limit; 415 unless the content type is JSON (absent is allowed); 400 for bodies that
 * are not UTF-8 JSON objects or whose keyed fields are malformed. Then archives the raw body
 * and enqueues the envelope, and only then answers 202. A failed enqueue answers 503 (nothing
 * acknowledged); a failed archive is logged and does not fail the request, except for a body
 * too large for one queue message, whose envelope points into the archive.
 * Never throws: every failure is an answer.
 *
 * @example
 * const response = await receiveWebhook(
 *   { auth, queue, archive, clock: Date.now, logger },
 *   { orgId, secret: new Secret(secretParam), headers, body, isBase64Encoded },
 * );
 * // { status: 202, body: { accepted: true, id: 'task.completed:t7c1…:2026-11-19T10:42:13.000Z' } }
 */
export async function receiveWebhook(
  deps: ReceiveDeps,
  request: ReceiveRequest,
): Promise<ReceiveResponse> {
  const { logger } = deps;
  // only a registrable org id is looked up; anything else is answered 401 at once
  const orgIdValid = isOrgId(request.orgId);
  // the org id is logged only once the registry knows it: before that it is whatever the caller
  // put in the URL, and a URL with its parts swapped would put the secret in the log
  const correlation = request.requestId === undefined ? {} : { requestId: request.requestId };
  let logOrg: { orgId?: string; requestId?: string } = correlation;
  const reject = (
    status: 400 | 401 | 413 | 415,
    code: ReceiveErrorCode,
    message: string,
    reason: string,
    issues?: WebhookIssue[],
  ): ReceiveResponse => {
    deps.metrics?.record('WebhookRejected');
    const line = { ...logOrg, status, code, reason };
    if (status === 401) logger.warn('webhook rejected', line);
    else logger.info('webhook rejected', line);
    const error: ReceiveErrorBody['error'] = { code, message };
    if (issues !== undefined) error.issues = issues;
    return { status, body: { error } };
  };
  const unavailable = (reason: string, cause: unknown): ReceiveResponse => {
    logger.error('webhook not accepted', { ...logOrg, status: 503, reason, error: cause });
    return {
      status: 503,
      body: { error: { code: 'WEBHOOKS_UNAVAILABLE', message: UNAVAILABLE_MESSAGE } },
    };
  };

  // 1. who is calling (same answer for every failure, so the answer says nothing of the cause)
  const headers = lowerCaseKeys(request.headers);
  const secretLength = request.secret.reveal().length;
  if (!orgIdValid || secretLength === 0 || secretLength > SECRET_MAX_LENGTH) {
    verifyWebhookSecret(request.secret, []);
    return reject(401, 'WEBHOOKS_UNAUTHORIZED', UNAUTHORIZED_MESSAGE, 'malformed_url');
  }
  let auth: Awaited<ReturnType<WebhookAuthLookup['findWebhookAuth']>>;
  try {
    auth = await deps.auth.findWebhookAuth(request.orgId);
  } catch (error) {
    return unavailable('auth_lookup_failed', error);
  }
  const secretMatches = verifyWebhookSecret(request.secret, auth?.hashes ?? []);
  if (auth === undefined)
    return reject(401, 'WEBHOOKS_UNAUTHORIZED', UNAUTHORIZED_MESSAGE, 'unknown_org');
  logOrg = { ...correlation, orgId: request.orgId };
  if (!secretMatches)
    return reject(401, 'WEBHOOKS_UNAUTHORIZED', UNAUTHORIZED_MESSAGE, 'wrong_secret');
  if (auth.status === 'disabled') {
    return reject(401, 'WEBHOOKS_UNAUTHORIZED', UNAUTHORIZED_MESSAGE, 'org_disabled');
  }
  const orgHeader = headers['x-tallyfy-orgid'];
  if (orgHeader !== undefined && orgHeader.trim() !== request.orgId) {
    return reject(401, 'WEBHOOKS_UNAUTHORIZED', UNAUTHORIZED_MESSAGE, 'org_header_mismatch');
  }

  // 2. what was sent
  const maxBodyBytes = deps.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const bytes = bodyByteLength(request);
  if (bytes > maxBodyBytes) {
    return reject(
      413,
      'WEBHOOKS_BODY_TOO_LARGE',
      `The body is ${bytes} bytes; the limit is ${maxBodyBytes} bytes.`,
      'too_large',
    );
  }
  const contentType = headers['content-type'];
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    return reject(
      415,
      'WEBHOOKS_MEDIA_TYPE_UNSUPPORTED',
      'Send the body as JSON (Content-Type: application/json, UTF-8).',
      'not_json_content_type',
    );
  }
  const raw = rawBytes(request);
  let payload: unknown;
  let text: string;
  try {
    // a string body is already text (API Gateway decoded it); only bytes need UTF-8 checking
    text =
      typeof request.body === 'string' && request.isBase64Encoded !== true
        ? request.body
        : utf8.decode(raw);
    payload = JSON.parse(text);
  } catch {
    const message =
      raw.byteLength === 0 ? 'The body is empty.' : 'The body is not valid UTF-8 JSON.';
    return reject(400, 'WEBHOOKS_JSON_INVALID', message, 'invalid_json');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return reject(400, 'WEBHOOKS_BODY_INVALID', 'The body must be a JSON object.', 'not_an_object');
  }
  const classified = classifyWebhook(payload as Record<string, unknown>);
  if (!classified.ok) {
    return reject(
      400,
      'WEBHOOKS_PAYLOAD_INVALID',
      'The payload has the shape of a Tallyfy webhook but a field it is keyed on is invalid.',
      'invalid_keyed_field',
      classified.issues,
    );
  }

  // 3. store, then answer
  const { type, subjectId, occurredAt, shape } = classified.classification;
  const receivedAtMs = deps.clock();
  const envelope = createEnvelope({
    orgId: request.orgId,
    type,
    subjectId,
    occurredAt,
    receivedAtMs,
    origin: 'webhook',
    data: payload,
    rawBody: raw,
    dataJson: text,
  });
  const archiveKey = webhookArchiveKey({
    orgId: request.orgId,
    receivedAtMs,
    eventId: envelope.id,
  });
  const meta = {
    orgId: request.orgId,
    eventId: envelope.id,
    type,
    receivedAt: envelope.receivedAt,
    ...(contentType === undefined ? {} : { contentType }),
  };
  const logEvent = { ...logOrg, eventId: envelope.id, type, shape, bytes };

  // both in flight at once: the answer waits for the slower, not the sum
  const archived = deps.archive.put(archiveKey, raw, meta).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  let claimCheck = false;
  try {
    await deps.queue.send(envelope);
  } catch (error) {
    if (!(error instanceof MessageTooLargeError)) {
      await archived;
      return unavailable('enqueue_failed', error);
    }
    // too big for one message: the archive copy becomes the payload, so it must exist first
    claimCheck = true;
    const archiveFailure = await archived;
    if (archiveFailure !== undefined) return unavailable('archive_failed', archiveFailure.error);
    const reference: EventEnvelope = { ...envelope, dataref: archiveKey };
    delete reference.data;
    try {
      await deps.queue.send(reference);
    } catch (sendError) {
      return unavailable('enqueue_failed', sendError);
    }
  }
  const archiveFailure = await archived;
  if (archiveFailure !== undefined) {
    // the queue holds the event (the durability guarantee); only the audit copy is missing
    logger.error('webhook archive failed; event queued without its archive copy', {
      ...logEvent,
      archiveKey,
      error: archiveFailure.error,
    });
  }
  deps.metrics?.record('WebhookAccepted');
  deps.metrics?.record('WebhookBodySize', bytes);
  logger.info('webhook accepted', { ...logEvent, claimCheck });
  return { status: 202, body: { accepted: true, id: envelope.id } };
}

function lowerCaseKeys(
  headers: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const lower: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return lower;
}

/** Byte length of the raw body without decoding it (base64 length is computed, not decoded). */
function bodyByteLength(request: ReceiveRequest): number {
  const { body } = request;
  if (body === undefined) return 0;
  if (typeof body !== 'string') return body.byteLength;
  return Buffer.byteLength(body, request.isBase64Encoded === true ? 'base64' : 'utf8');
}

function rawBytes(request: ReceiveRequest): Uint8Array {
  const { body } = request;
  if (body === undefined) return new Uint8Array();
  if (typeof body !== 'string') return body;
  return Buffer.from(body, request.isBase64Encoded === true ? 'base64' : 'utf8');
}

/**
 * `application/json` or `application/<anything>+json`, any parameters, but a `charset` must be
 * UTF-8 (JSON is UTF-8 on the wire, RFC 8259).
 */
export function isJsonContentType(value: string): boolean {
  const [mediaType = '', ...params] = value.split(';');
  const type = mediaType.trim().toLowerCase();
  if (type !== 'application/json' && !/^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type)) {
    return false;
  }
  for (const param of params) {
    const [name = '', paramValue = ''] = param.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    const charset = paramValue.trim().replace(/^"|"$/g, '').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}
