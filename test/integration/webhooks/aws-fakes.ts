/**
 * Minimal AWS endpoints on loopback for the real SDK clients (no SQS or S3 engine runs locally;
 * TOOLCHAIN.md): SQS's JSON 1.0 protocol (SendMessage, SendMessageBatch) and S3's path-style
 * PutObject / GetObject. They store what they receive and can be told to fail.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAws {
  endpoint: string;
  /** SQS messages received: body and attribute string values. */
  sqsMessages: { body: string; attributes: Record<string, string> }[];
  /** S3 objects by `bucket/key`. */
  s3Objects: Map<string, { body: Buffer; headers: IncomingMessage['headers'] }>;
  /** SQS operations called, in order (`SendMessage`, `SendMessageBatch`). */
  sqsCalls: string[];
  /** Answer the next N SQS calls with a 500. */
  failSqs(times: number): void;
  /** Ids (`Id` of the batch entry) the next SendMessageBatch reports as failed. */
  failBatchEntries(ids: string[]): void;
  close(): Promise<void>;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

export async function startFakeAws(): Promise<FakeAws> {
  const sqsMessages: FakeAws['sqsMessages'] = [];
  const sqsCalls: string[] = [];
  const s3Objects: FakeAws['s3Objects'] = new Map();
  let sqsFailures = 0;
  let failingEntries = new Set<string>();

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('AmazonSQS.')) {
      sqsCalls.push(target.slice('AmazonSQS.'.length));
      res.setHeader('content-type', 'application/x-amz-json-1.0');
      if (sqsFailures > 0) {
        sqsFailures--;
        res.statusCode = 500;
        res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#InternalError', message: 'boom' }));
        return;
      }
      const input = JSON.parse(body.toString('utf8'));
      const attributesOf = (attrs: Record<string, { StringValue: string }> = {}) =>
        Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v.StringValue]));
      if (target === 'AmazonSQS.SendMessage') {
        sqsMessages.push({
          body: input.MessageBody,
          attributes: attributesOf(input.MessageAttributes),
        });
        res.end(
          JSON.stringify({ MessageId: randomUUID(), MD5OfMessageBody: md5(input.MessageBody) }),
        );
        return;
      }
      if (target === 'AmazonSQS.SendMessageBatch') {
        const successful = [];
        const failed = [];
        for (const entry of input.Entries) {
          if (failingEntries.has(entry.Id)) {
            failed.push({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'x' });
            continue;
          }
          sqsMessages.push({
            body: entry.MessageBody,
            attributes: attributesOf(entry.MessageAttributes),
          });
          successful.push({
            Id: entry.Id,
            MessageId: randomUUID(),
            MD5OfMessageBody: md5(entry.MessageBody),
          });
        }
        failingEntries = new Set();
        res.end(JSON.stringify({ Successful: successful, Failed: failed }));
        return;
      }
      res.statusCode = 400;
      res.end(JSON.stringify({ __type: 'UnsupportedOperation', message: String(target) }));
      return;
    }
    // S3, path style: /<bucket>/<key>
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    if (req.method === 'PUT') {
      s3Objects.set(path, { body, headers: req.headers });
      res.setHeader('etag', `"${md5(body.toString('binary'))}"`);
      res.end();
      return;
    }
    if (req.method === 'GET') {
      const object = s3Objects.get(path);
      if (object === undefined) {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/xml');
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
        );
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.setHeader('content-length', object.body.byteLength);
      res.end(object.body);
      return;
    }
    res.statusCode = 405;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    sqsMessages,
    sqsCalls,
    s3Objects,
    failSqs: (times) => {
      sqsFailures = times;
    },
    failBatchEntries: (ids) => {
      failingEntries = new Set(ids);
    },
    close: () =>
      new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
