/**
 * local.json after a crash or a bad edit: the demo record (all a start needs from it) survives
 * a damaged file, and the damaged file is kept aside.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readPreviousRun } from '../../../local/runtime/state-file.ts';
import { tempDataDir } from './support.ts';

const NOW = Date.parse('2026-11-22T08:15:00Z');

describe('local.json of the previous run', () => {
  test('a damaged local.json keeps its demo record, so a removed demo org is not registered again', () => {
    const dir = tempDataDir('state-file');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'local.json');
    // the fields as written, with a bad edit after the demo record
    const text =
      '{\n  "version": 1,\n  "running": true,\n  "pid": 1,\n  "demo": { "orgId": "org5f4e3d2c1b0a", "registeredAt": "2026-11-20T09:00:00.000Z" },\n  "urls": { "http": oops }\n}\n';
    writeFileSync(file, text);
    return readPreviousRun(file, NOW).then((previous) => {
      expect(previous.state).toBeUndefined();
      expect(previous.demo).toEqual({
        orgId: 'org5f4e3d2c1b0a',
        registeredAt: '2026-11-20T09:00:00.000Z',
      });
      expect(previous.salvage).toMatchObject({ file, kept: 1, lost: 0 });
      expect(readFileSync(`${file}.damaged-20261122T081500Z`, 'utf8')).toBe(text);
    });
  });

  test('no local.json: nothing to keep, nothing to report', async () => {
    const dir = tempDataDir('state-file-none');
    mkdirSync(dir, { recursive: true });
    const previous = await readPreviousRun(join(dir, 'local.json'), NOW);
    expect(previous).toEqual({ state: undefined, demo: undefined, salvage: undefined });
    expect(existsSync(join(dir, 'local.json'))).toBe(false);
  });
});
