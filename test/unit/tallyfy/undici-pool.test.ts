/**
 * shared/tallyfy/undici-pool.ts loads undici's Pool by internal module paths (undici has no
 * narrower public entry). These tests fail when an undici upgrade moves or changes those
 * modules, before a bundle ships without a working pool.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as undici from 'undici';
import { describe, expect, test } from 'vitest';
import { Pool } from '../../../shared/tallyfy/undici-pool.ts';

const POOL_MODULE = fileURLToPath(
  new URL('../../../shared/tallyfy/undici-pool.ts', import.meta.url),
);

/**
 * Runs in a fresh process that loads only our module: a GET through the pool to a node:http
 * server on port 0, and whether undici's index (fetch, WebSocket, mocks…) was loaded too.
 */
const ALONE = `
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const { Pool } = await import(pathToFileURL(process.argv[1]).href);
const server = createServer((req, res) => res.end(req.method + ' ' + req.url));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const pool = new Pool('http://127.0.0.1:' + server.address().port);
const res = await pool.request({ method: 'GET', path: '/ping?x=1' });
const body = await res.body.text();
await pool.close();
server.close();
const loaded = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify({
  status: res.statusCode,
  body,
  undiciIndexLoaded: loaded.some((file) => /[\\\\/]undici[\\\\/]index\\.js$/.test(file)),
  poolModuleLoaded: loaded.some((file) => /[\\\\/]undici[\\\\/]lib[\\\\/]dispatcher[\\\\/]pool\\.js$/.test(file)),
}));
`;

function runAlone(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', ALONE, POOL_MODULE],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Record<string, unknown>);
      },
    );
  });
}

describe('undici Pool loaded without the rest of undici', () => {
  test('is the very Pool class undici exports, with the same request helper', () => {
    expect(Pool).toBe(undici.Pool);
    expect(Pool.prototype.request).toBe(undici.Dispatcher.prototype.request);
  });

  test('on its own, sends a request and reads the answer without loading undici’s index', async () => {
    await expect(runAlone()).resolves.toEqual({
      status: 200,
      body: 'GET /ping?x=1',
      undiciIndexLoaded: false,
      poolModuleLoaded: true,
    });
  });
});
