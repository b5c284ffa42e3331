import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createRefreshRequester,
  type RefreshRequest,
  RefreshRequestError,
} from '../../../shared/tokens/index.ts';

/**
 * A loopback server speaking Lambda's Invoke REST call (POST
 * /2015-03-31/functions/{name}/invocations): the real SDK client is pointed at it.
 */
interface Invocation {
  functionName: string;
  invocationType: string | undefined;
  payload: unknown;
}
const invocations: Invocation[] = [];
let answerStatus = 202;
const server = createServer(async (req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
  if (req.method !== 'POST' || !match) {
    res.writeHead(404).end();
    return;
  }
  invocations.push({
    functionName: decodeURIComponent(match[1] ?? ''),
    invocationType: req.headers['x-amz-invocation-type'] as string | undefined,
    payload: JSON.parse(Buffer.concat(chunks).toString('utf8')),
  });
  res.writeHead(answerStatus, { 'content-type': 'application/json' }).end();
});
let lambda: LambdaClient;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  lambda = new LambdaClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  lambda.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('refresh requests to the Lambda refresher', () => {
  test('are asynchronous invokes (Event) of the named function with {orgId, force, reason}', async () => {
    const request = createRefreshRequester(
      { kind: 'lambda', functionName: 'tallyfy-token-refresher' },
      { lambda },
    );
    await request('org5f4e3d2c1b0a', 'unauthorized');
    expect(invocations.at(-1)).toEqual({
      functionName: 'tallyfy-token-refresher',
      invocationType: 'Event',
      payload: { orgId: 'org5f4e3d2c1b0a', force: true, reason: 'unauthorized' },
    });
    // a worker's proof names the rejected token by its obtainedAt, never by its value
    await request('org5f4e3d2c1b0a', 'unauthorized', {
      rejectedTokenObtainedAt: '2026-11-22T12:00:00.000Z',
    });
    expect(invocations.at(-1)?.payload).toEqual({
      orgId: 'org5f4e3d2c1b0a',
      force: true,
      reason: 'unauthorized',
      rejectedTokenObtainedAt: '2026-11-22T12:00:00.000Z',
    });
    await expect(
      request('org5f4e3d2c1b0a', 'unauthorized', { rejectedTokenObtainedAt: 'yesterday' }),
    ).rejects.toThrow();
  });

  test('a refused invoke fails with RefreshRequestError naming the org', async () => {
    const request = createRefreshRequester({ kind: 'lambda', functionName: 'gone' }, { lambda });
    answerStatus = 200; // a RequestResponse answer: the refresh was not queued as asked
    await expect(request('org1', 'expired')).rejects.toBeInstanceOf(RefreshRequestError);
    answerStatus = 202;
  });

  test('an org id that the refresher would reject is refused before anything is sent', async () => {
    const request = createRefreshRequester({ kind: 'lambda', functionName: 'fn' }, { lambda });
    const before = invocations.length;
    await expect(request('org with spaces', 'missing')).rejects.toThrow();
    expect(invocations).toHaveLength(before);
  });
});

describe('refresh requests in local mode', () => {
  test('call the in-process refresher and resolve after it', async () => {
    const seen: RefreshRequest[] = [];
    const request = createRefreshRequester(
      { kind: 'local' },
      {
        local: async (r) => {
          seen.push(r);
        },
      },
    );
    await request('org2', 'missing');
    expect(seen).toEqual([{ orgId: 'org2', force: true, reason: 'missing' }]);
  });

  test('without a local callback the requester refuses to be built', () => {
    expect(() => createRefreshRequester({ kind: 'local' })).toThrow(/options\.local/);
  });
});
