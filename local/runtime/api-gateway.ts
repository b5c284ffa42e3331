/**
 * node:http request → API Gateway HTTP API (payload format 2.0) event, as API Gateway builds it
 * for a Lambda proxy integration, so the receiver's handler runs on the very shape it gets in
 * AWS. And the handler's result → the HTTP answer.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Content types API Gateway passes as text; every other body arrives base64-encoded. */
const TEXT_TYPES =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded))/i;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface RouteMatch {
  /** e.g. `POST /hooks/{orgId}/{secret}` */
  routeKey: string;
  pathParameters: Record<string, string>;
}

/**
 * Builds the v2 event: lower-case headers (repeated ones joined with `,`), cookies apart,
 * query parameters, URL-decoded path parameters, text or base64 body, and a request context
 * with a fresh request id and the caller's address.
 */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: Buffer,
  route: RouteMatch,
  now: number,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    const value = request.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter((c) => c !== '')];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  }
  const contentType = headers['content-type'] ?? '';
  // a JSON string cannot hold bytes that are not UTF-8: such a body goes base64-encoded, so
  // the handler sees exactly the bytes that arrived (decoding them would put U+FFFD in their
  // place, and an altered body would be accepted and archived)
  const text = body.length > 0 && TEXT_TYPES.test(contentType) ? utf8TextOf(body) : undefined;
  const isText = body.length === 0 || text !== undefined;
  const requestId = randomUUID();
  const method = request.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    pathParameters: route.pathParameters,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now,
    },
    ...(body.length > 0 ? { body: text ?? body.toString('base64') } : {}),
    isBase64Encoded: !isText,
  };
}

/** The body as text when it is valid UTF-8 (a BOM kept as U+FEFF), else `undefined`. */
function utf8TextOf(body: Buffer): string | undefined {
  try {
    return strictUtf8.decode(body);
  } catch {
    return undefined;
  }
}

/** Writes a handler result as API Gateway would: status, headers, cookies, decoded body. */
export function writeProxyResult(
  response: ServerResponse,
  result: APIGatewayProxyStructuredResultV2,
): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  const body =
    result.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  headers['content-length'] = String(body.length);
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, API Gateway's `requestContext.time`. */
function apiGatewayTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(
    d.getUTCHours(),
  )}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
