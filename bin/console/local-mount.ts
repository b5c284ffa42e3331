/**
 * The console inside local mode (`npm start`), at `/console` of its HTTP server. It opens the
 * same local target the CLI's `--local` does (from local.json, written once local mode is
 * ready), on the first request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openLocalTarget, type Target } from '../target/index.ts';
import type { ConsoleLog } from './context.ts';
import { createConsole, type OperatorConsole } from './handler.ts';
import { newConsoleSecrets } from './security.ts';

export interface LocalModeConsole {
  /** The link for the banner (it carries the per-start token; never logged). */
  url(origin: string): string;
  handle(request: IncomingMessage, response: ServerResponse, body?: Buffer): Promise<void>;
  /** Closes the target's clients. */
  close(): void;
}

/**
 * @example
 * const operatorConsole = localModeConsole({ stateFile, port: http.port, env, clock, log });
 * http.serve({ ...app, console: operatorConsole.handle });
 */
export function localModeConsole(options: {
  /** `<data>/local.json`. */
  stateFile: string;
  /** The local HTTP server's port. */
  port: number;
  /** Local mode's environment (TALLYFY_REQUESTS_PER_MINUTE, REFRESH_SHARD_COUNT…). */
  env: Readonly<Record<string, string | undefined>>;
  clock: () => number;
  log: ConsoleLog;
}): LocalModeConsole {
  const secrets = newConsoleSecrets();
  let target: Target | undefined;
  let opening: Promise<OperatorConsole> | undefined;
  const open = () => {
    opening ??= openLocalTarget(options.stateFile, options.env, options.clock).then(
      (opened) => {
        target = opened;
        return createConsole({
          target: opened,
          port: options.port,
          log: options.log,
          clock: options.clock,
          secrets,
        });
      },
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    return opening;
  };
  const mount = '/console';
  return {
    url: (origin) => `${origin.replace(/\/+$/, '')}${mount}/${secrets.urlToken}/`,
    async handle(request, response, body) {
      let operatorConsole: OperatorConsole;
      try {
        operatorConsole = await open();
      } catch {
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('Local mode is still starting: reload in a moment.\n');
        return;
      }
      await operatorConsole.handle(request, response, body);
    },
    close() {
      target?.close();
    },
  };
}
