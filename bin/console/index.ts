/**
 * The operator console (docs/console.md): server-rendered pages over the CLI's target code.
 * The `console` command and local mode's `/console` route are its two doors.
 */
export type { ActionEntry, ConsoleLog } from './context.ts';
export { type ConsoleOptions, createConsole, type OperatorConsole } from './handler.ts';
export { type LocalModeConsole, localModeConsole } from './local-mount.ts';
export { type ConsoleSecrets, newConsoleSecrets } from './security.ts';
export { type ConsoleServer, startConsoleServer } from './server.ts';
