/**
 * `tallyfy-serverless console`: the console on its own HTTP server, bound to 127.0.0.1 only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Target } from '../target/index.ts';
import type { ConsoleLog } from './context.ts';
import { createConsole, type OperatorConsole } from './handler.ts';

export interface ConsoleServer {
  /** The link to open (it carries the per-start token): print it, never log it. */
  readonly url: string;
  readonly port: number;
  readonly console: OperatorConsole;
  /** Stops serving; connections in flight are closed. */
  close(): Promise<void>;
}

/**
 * Starts the console on `127.0.0.1:<port>` (0 = a free port).
 *
 * @example
 * const server = await startConsoleServer({ target, port: 0, log });
 * process.stdout.write(`${server.url}\n`);
 */
export async function startConsoleServer(options: {
  target: Target;
  port: number;
  log: ConsoleLog;
  clock?: () => number;
}): Promise<ConsoleServer> {
  const server: Server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', fail);
      done();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const operatorConsole = createConsole({
    target: options.target,
    port,
    log: options.log,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  server.on('request', (request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path === operatorConsole.mount || path.startsWith(`${operatorConsole.mount}/`)) {
      void operatorConsole.handle(request, response);
      return;
    }
    // the bare origin: say where the console is without giving the token away
    const text = 'The tallyfy-serverless console is under the link printed when it started.\n';
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(text);
  });
  server.keepAliveTimeout = 5_000;
  return {
    url: operatorConsole.url(`http://127.0.0.1:${port}`),
    port,
    console: operatorConsole,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
