import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMetrics } from '../../../shared/observability/index.ts';
import { powertoolsReportMetrics, s3ReportSink } from '../../../shared/reports/index.ts';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

let server: Server;
let endpoint: string;
const received: Received[] = [];
let failNext = 0;

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  // a plain HTTP server speaking just enough S3 (PutObject) for the real SDK client
  server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    if (failNext > 0) {
      failNext--;
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
      return;
    }
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      contentType: req.headers['content-type'],
      body,
    });
    res.writeHead(200, { etag: '"1"' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function client(): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

describe('S3 report sink', () => {
  test('puts the object under the bucket and key with its content type', async () => {
    const sink = s3ReportSink(client(), 'reports-bucket');
    await sink.put('reports/o1/2026-11-22/report.json', '{"a":1}\n', 'application/json');
    expect(received.at(-1)).toEqual({
      method: 'PUT',
      url: expect.stringMatching(/^\/reports-bucket\/reports\/o1\/2026-11-22\/report\.json(\?|$)/),
      contentType: 'application/json',
      body: '{"a":1}\n',
    });
  });

  test('an S3 refusal surfaces as an error, not a silent success', async () => {
    failNext = 1;
    const sink = s3ReportSink(client(), 'reports-bucket');
    await expect(sink.put('reports/o1/x.csv', 'a\r\n', 'text/csv')).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });
});

describe('report metrics', () => {
  test('each org gets duration, API calls, retries, pages and an outcome, by orgId', () => {
    const lines: string[] = [];
    const metrics = createMetrics({
      namespace: 'TallyfyServerless',
      serviceName: 'reporter',
      sink: (emf) => lines.push(emf),
    });
    powertoolsReportMetrics(metrics).orgFinished({
      orgId: 'o1',
      ok: false,
      durationMs: 1234,
      apiCalls: 12,
      retries: 2,
      pages: 10,
    });
    const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const values = Object.fromEntries(
      docs.flatMap((d) => Object.entries(d).filter(([k]) => k.startsWith('Report'))),
    );
    expect(values).toEqual({
      ReportsFailed: 1,
      ReportDuration: 1234,
      ReportApiCalls: 12,
      ReportRetries: 2,
      ReportPages: 10,
    });
    expect(docs.every((d) => d.orgId === 'o1')).toBe(true);
  });
});
