/**
 * What a command reads and writes: streams, environment and prompts, injected so tests run
 * commands in-process with their own streams, and the same code runs as a child process.
 */
import type { Readable, Writable } from 'node:stream';

/** A stream that may be a terminal. */
export type OutStream = Writable & { isTTY?: boolean; columns?: number };
export type InStream = Readable & { isTTY?: boolean };

/** Interactive questions. Every prompt writes to stderr, so stdout stays clean for `--json`. */
export interface Prompts {
  /** A visible answer (an org id, a name). */
  text(message: string, options?: { default?: string | undefined }): Promise<string>;
  /** A hidden answer (nothing is echoed): the only way a secret is typed in. */
  password(message: string): Promise<string>;
  /** Yes or no. */
  confirm(message: string, options?: { default?: boolean }): Promise<boolean>;
}

/** The process around a command run. */
export interface CliIo {
  stdin: InStream;
  stdout: OutStream;
  stderr: OutStream;
  /** Environment variables (only read through `loadConfig` and the AWS SDK's own chain). */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths (`--data-dir`, `--file`) resolve against. */
  cwd: string;
  prompts: Prompts;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** Whether a pid runs (local mode's liveness). @default signal 0 */
  isAlive?: (pid: number) => boolean;
}

/** Whether prompts may be shown: stdin and stderr are terminals. */
export function isInteractive(io: CliIo): boolean {
  return io.stdin.isTTY === true && io.stderr.isTTY === true;
}

/** Where a command's result goes: a human rendering or one JSON document on stdout. */
export class Output {
  readonly json: boolean;
  readonly #io: CliIo;

  constructor(io: CliIo, json: boolean) {
    this.#io = io;
    this.json = json;
  }

  /** The command's result: `data` as JSON with `--json`, else the human lines. */
  result(data: unknown, human: () => string | readonly string[]): void {
    if (this.json) {
      this.#io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      return;
    }
    const text = human();
    const lines = typeof text === 'string' ? [text] : text;
    if (lines.length > 0) this.#io.stdout.write(`${lines.join('\n')}\n`);
  }

  /** A note on progress (stderr; left out with `--json`). */
  note(message: string): void {
    if (!this.json) this.#io.stderr.write(`${message}\n`);
  }

  /** A warning (stderr, also with `--json`: it is not part of the result). */
  warn(message: string): void {
    this.#io.stderr.write(`warning: ${message}\n`);
  }
}

/** Left-aligned columns with a header row; cells are plain text. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `key: value` lines with aligned values; `undefined` values are left out. */
export function fields(entries: readonly (readonly [string, string | undefined])[]): string[] {
  const shown = entries.filter(
    (entry): entry is readonly [string, string] => entry[1] !== undefined,
  );
  const width = Math.max(0, ...shown.map(([key]) => key.length));
  return shown.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${value}`);
}
