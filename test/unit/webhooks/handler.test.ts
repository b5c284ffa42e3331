import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, test } from 'vitest';
import { createWebhookReceiverHandler } from '../../../functions/webhook-receiver/handler.ts';
import { fixture, fixtureText, NOW_MS, ORG_ID, receiverDeps, SECRET_TEXT } from './support.ts';

/** An HTTP API (payload format 2.0) event as API Gateway sends it for our route. */
function httpApiEvent(options: {
  body?: string;
  isBase64Encoded?: boolean;
  method?: string;
  headers?: Record<string, string>;
  orgId?: string;
  secret?: string;
}): APIGatewayProxyEventV2 {
  const orgId = options.orgId ?? ORG_ID;
  const secret = options.secret ?? SECRET_TEXT;
  const rawPath = `/hooks/${orgId}/${secret}`;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: 'POST /hooks/{orgId}/{secret}',
    rawPath,
    rawQueryString: '',
    headers: options.headers ?? {
      accept: '*/*',
      'content-length': String(Buffer.byteLength(options.body ?? '')),
      'content-type': 'application/json',
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'GuzzleHttp/7',
      'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      'x-tallyfy-orgid': ORG_ID,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: options.method ?? 'POST',
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'GuzzleHttp/7',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: 'POST /hooks/{orgId}/{secret}',
      stage: '$default',
      time: '22/Nov/2026:09:30:00 +0000',
      timeEpoch: NOW_MS,
    },
    pathParameters: { orgId, secret },
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
  if (options.body !== undefined) event.body = options.body;
  return event;
}

describe('webhook-receiver handler', () => {
  test('a task-completed webhook is answered 202 JSON and queued', async () => {
    let flushes = 0;
    const ctx = receiverDeps();
    const handler = createWebhookReceiverHandler({ ...ctx.deps, flushMetrics: () => flushes++ });
    const result = await handler(httpApiEvent({ body: fixtureText('task-completed.json') }));
    expect(result.statusCode).toBe(202);
    expect(result.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(result.body ?? '')).toEqual({
      accepted: true,
      id: 'task.completed:t7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d:2026-11-19T10:42:13.000Z',
    });
    expect(ctx.queue.envelopes()[0]?.data).toEqual(fixture('task-completed.json'));
    expect(flushes).toBe(1);
  });

  test('a base64-encoded body (API Gateway binary passthrough) is decoded', async () => {
    const ctx = receiverDeps();
    const handler = createWebhookReceiverHandler(ctx.deps);
    const body = Buffer.from(fixtureText('process-launched.json')).toString('base64');
    const result = await handler(httpApiEvent({ body, isBase64Encoded: true }));
    expect(result.statusCode).toBe(202);
    expect(ctx.queue.envelopes()[0]?.type).toBe('process.launched');
  });

  test('header names are matched whatever their case', async () => {
    const ctx = receiverDeps();
    const handler = createWebhookReceiverHandler(ctx.deps);
    const headers = { 'Content-Type': 'text/plain', 'X-Tallyfy-orgID': ORG_ID };
    const result = await handler(httpApiEvent({ body: '{}', headers }));
    expect(result.statusCode).toBe(415);
  });

  test('an event without a body or path parameters is refused, not thrown', async () => {
    const ctx = receiverDeps();
    const handler = createWebhookReceiverHandler(ctx.deps);
    const noBody = await handler(httpApiEvent({}));
    expect(noBody.statusCode).toBe(400);
    const noParams = httpApiEvent({ body: '{}' });
    delete noParams.pathParameters;
    expect((await handler(noParams)).statusCode).toBe(401);
    expect(ctx.queue.messages).toHaveLength(0);
  });

  test('a method other than POST gets 405 with Allow: POST', async () => {
    const ctx = receiverDeps();
    const handler = createWebhookReceiverHandler(ctx.deps);
    const result = await handler(httpApiEvent({ method: 'GET' }));
    expect(result.statusCode).toBe(405);
    expect(result.headers?.allow).toBe('POST');
  });

  test('log lines carry the request id and never the secret from the path', async () => {
    const ctx = receiverDeps();
    const handler = createWebhookReceiverHandler(ctx.deps);
    await handler(httpApiEvent({ body: fixtureText('task-completed.json') }));
    await handler(httpApiEvent({ body: '{', secret: `${SECRET_TEXT}x` }));
    const records = ctx.captured.records();
    expect(records.length).toBe(2);
    for (const record of records) expect(record.requestId).toBe('JKJaXmPLvHcESHA=');
    for (const line of ctx.captured.lines) expect(line).not.toContain(SECRET_TEXT);
  });
});
