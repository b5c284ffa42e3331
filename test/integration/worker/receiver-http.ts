/**
 * A tiny node:http → API Gateway HTTP API (payload v2) adapter around the receiver's handler,
 * so the sandbox can deliver webhooks to it over loopback as Tallyfy would to API Gateway.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export interface ReceiverServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

const ROUTE = /^\/hooks\/([^/]+)\/([^/]+)$/;

export async function startReceiverServer(
  handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<ReceiverServer> {
  let requestNumber = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const route = ROUTE.exec(url.pathname);
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      requestNumber += 1;
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: 'POST /hooks/{orgId}/{secret}',
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        pathParameters: {
          orgId: decodeURIComponent(route[1] as string),
          secret: decodeURIComponent(route[2] as string),
        },
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: '127.0.0.1',
          domainPrefix: 'local',
          http: {
            method: req.method ?? 'GET',
            path: url.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId: `req-${requestNumber}`,
          routeKey: 'POST /hooks/{orgId}/{secret}',
          stage: '$default',
          time: new Date().toISOString(),
          timeEpoch: Date.now(),
        },
        body: Buffer.concat(chunks).toString('utf8'),
        isBase64Encoded: false,
      };
      handler(event).then(
        (result) => {
          res
            .writeHead(result.statusCode ?? 200, result.headers as Record<string, string>)
            .end(result.body ?? '');
        },
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
