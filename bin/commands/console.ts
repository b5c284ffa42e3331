/** `console [--port n]`: the operator console on 127.0.0.1, until Ctrl-C. */
import type { Command } from 'commander';
import * as z from 'zod';
import { loadConfig } from '../../shared/config.ts';
import { createLogger, type LogLevelName } from '../../shared/observability/index.ts';
import { startConsoleServer } from '../console/index.ts';
import { globalsOf, outputOf } from '../context.ts';
import { CliError } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { resolveTarget } from '../target/index.ts';
import { examples } from './help.ts';

const PortSchema = z.coerce.number().int().min(0).max(65_535);

/**
 * Resolves when the console should stop: on SIGINT or SIGTERM (what a terminal's Ctrl-C and a
 * process manager send). Tests stop it the same way, by signalling the child process.
 */
const untilStopped = (): Promise<NodeJS.Signals> =>
  new Promise((done) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

export function registerConsole(program: Command, io: CliIo): void {
  const command = program
    .command('console')
    .description(
      'open the operator console: orgs and token health, event flow, dead letters with replay, rules with dry run, reports — served on 127.0.0.1 with a per-start link; runs until Ctrl-C',
    )
    .option('--port <port>', 'port on 127.0.0.1 (0 = any free port)', '0');
  examples(command, [
    'tallyfy-serverless console                       # local mode (npm start also serves it at /console)',
    'tallyfy-serverless --stack TallyfyProd --region eu-west-1 console --port 4180',
  ]);
  command.action(async (options: { port: string }, cmd: Command) => {
    const port = PortSchema.safeParse(options.port);
    if (!port.success) {
      throw new CliError(
        'CLI_USAGE',
        '--port must be a whole number from 0 to 65535 (0 = any free port).',
      );
    }
    const out = outputOf(io, cmd);
    const level = loadConfig(['log'], io.env).log.logLevel as LogLevelName;
    const log = createLogger({
      serviceName: 'console',
      level,
      pretty: io.stderr.isTTY === true,
      sink: (line) => io.stderr.write(`${line}\n`),
    });
    const target = await resolveTarget(globalsOf(cmd), io);
    let server: Awaited<ReturnType<typeof startConsoleServer>>;
    try {
      server = await startConsoleServer({
        target,
        port: port.data,
        log,
        ...(io.clock === undefined ? {} : { clock: io.clock }),
      });
    } catch (error) {
      target.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new CliError(
          'CLI_USAGE',
          `Port ${port.data} on 127.0.0.1 is in use: choose another with --port (0 = any free port).`,
        );
      }
      throw error;
    }
    // the link carries the per-start token: printed here only, never logged
    out.result({ url: server.url, target: target.label }, () => [
      `Operator console for ${target.label}:`,
      `  ${server.url}`,
      'Open it in a browser on this machine. Ctrl-C stops it.',
    ]);
    const signal = await untilStopped();
    out.note(`${signal}: console stopped.`);
    await server.close();
    target.close();
  });
}
