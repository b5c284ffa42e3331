/**
 * Journals on real files: group commit, reload, salvage of a damaged file (kept aside, never
 * deleted), compaction.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  DataFileError,
  type JournalSpec,
  loadJournal,
  openJournal,
} from '../../../local/persistence/index.ts';

interface Item {
  id: string;
  n: number;
}

async function spec(name = 'items.jsonl'): Promise<JournalSpec<Item>> {
  const dir = await mkdtemp(join(tmpdir(), 'journal-'));
  return {
    file: join(dir, name),
    kind: 'test-items',
    parse: (value) => {
      const v = value as Partial<Item> | null;
      return typeof v?.id === 'string' && typeof v.n === 'number'
        ? { id: v.id, n: v.n }
        : undefined;
    },
  };
}

const NOW = Date.parse('2026-11-22T08:15:00Z');

describe('journal', () => {
  test('appends waiting together share one write, and every acknowledged record is reloaded in order', async () => {
    const items = await spec();
    const journal = await openJournal(items, { snapshot: () => [] });
    const records = Array.from({ length: 200 }, (_, i) => ({ id: `i${i}`, n: i }));
    await Promise.all(records.map((record) => journal.append([record])));
    const stats = journal.stats();
    expect(stats.records).toBe(200);
    expect(stats.commits).toBeLessThan(200);
    await journal.close();

    const loaded = await loadJournal(items);
    expect(loaded).toMatchObject({ existed: true, salvage: undefined });
    expect(loaded.records).toEqual(records);
  });

  test('a last line cut by a crash: every complete record is kept, the damaged file kept aside', async () => {
    const items = await spec();
    const journal = await openJournal(items, { snapshot: () => [] });
    await journal.append([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    await journal.close();
    const before = readFileSync(items.file, 'utf8');
    appendFileSync(items.file, '{"id":"c","n":');

    const loaded = await loadJournal(items, NOW);
    expect(loaded.records).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    expect(loaded.salvage).toEqual({
      file: items.file,
      keptAt: `${items.file}.damaged-20261122T081500Z`,
      kept: 2,
      lost: 1,
      reason: 'the last line is cut short (a write interrupted by a crash)',
    });
    expect(readFileSync(`${items.file}.damaged-20261122T081500Z`, 'utf8')).toBe(
      `${before}{"id":"c","n":`,
    );
    // the file itself is whole again: a second load finds nothing to salvage
    expect(readFileSync(items.file, 'utf8')).toBe(before);
    expect((await loadJournal(items, NOW)).salvage).toBeUndefined();
  });

  test('bad lines in the middle are counted and skipped; the records after them are kept', async () => {
    const items = await spec();
    writeFileSync(
      items.file,
      [
        '{"journal":"test-items","version":1}',
        '{"id":"a","n":1}',
        '\u0000\u0000\u0000\u0000',
        '{"id":"b"}',
        '{"id":"c","n":3}',
        '',
      ].join('\n'),
    );
    const loaded = await loadJournal(items, NOW);
    expect(loaded.records.map((r) => r.id)).toEqual(['a', 'c']);
    expect(loaded.salvage).toMatchObject({
      kept: 2,
      lost: 2,
      reason: '2 lines are not a valid record (first at line 3)',
    });
    // a second salvage of the same moment never overwrites the first copy
    writeFileSync(items.file, 'not a journal\n{"id":"d","n":4}\n');
    const again = await loadJournal(items, NOW);
    expect(again.salvage?.keptAt).toBe(`${items.file}.damaged-20261122T081500Z-2`);
    expect(again.salvage?.reason).toBe(
      'the first line is not a test-items journal header; 1 line is not a valid record (first at line 1)',
    );
    expect(again.records).toEqual([{ id: 'd', n: 4 }]);
    const names = readdirSync(join(items.file, '..')).sort();
    expect(names).toEqual([
      'items.jsonl',
      'items.jsonl.damaged-20261122T081500Z',
      'items.jsonl.damaged-20261122T081500Z-2',
    ]);
  });

  test('a file from a newer format version is refused and left untouched', async () => {
    const items = await spec();
    const text = '{"journal":"test-items","version":2}\n{"id":"a","n":1,"new":true}\n';
    writeFileSync(items.file, text);
    const error = await loadJournal(items, NOW).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as DataFileError).code).toBe('LOCAL_DATA_FILE_NEWER');
    expect(readFileSync(items.file, 'utf8')).toBe(text);
  });

  test('compaction rewrites the file from the live state, and appends go on after it', async () => {
    const items = await spec();
    const live = new Map<string, Item>();
    const journal = await openJournal(items, {
      snapshot: () => live.values(),
      compaction: { minBytes: 2_000, ratio: 2 },
    });
    for (let round = 0; round < 400; round++) {
      const record = { id: `k${round % 5}`, n: round };
      live.set(record.id, record);
      await journal.append([record]);
    }
    expect(journal.stats().compactions).toBeGreaterThan(0);
    expect(journal.stats().bytes).toBeLessThan(2 * 2_000);
    await journal.close();
    const replayed = new Map((await loadJournal(items)).records.map((r) => [r.id, r]));
    expect([...replayed.values()]).toEqual([...live.values()]);
  });

  test('appends go on while a compaction writes the new file, and each one is in it', async () => {
    const items = await spec();
    const live = new Map<string, Item>();
    const journal = await openJournal(items, { snapshot: () => live.values() });
    // a large live state, so the new file takes a while to write and flush
    const padded = (i: number) => ({ id: `big${i}`, n: i, pad: 'x'.repeat(1_000) });
    for (let i = 0; i < 4_000; i++) live.set(`big${i}`, padded(i) as Item);
    const order: string[] = [];
    const compacted = journal.compact().then(() => order.push('compaction'));
    const appended = Array.from({ length: 20 }, async (_, i) => {
      const record = { id: `k${i % 4}`, n: i };
      live.set(record.id, record);
      await journal.append([record]);
      order.push(`append ${i}`);
    });
    await Promise.all([compacted, ...appended]);
    // the appends did not wait for the compaction
    expect(order[0]).toMatch(/^append/);
    expect(journal.stats().compactions).toBe(1);
    await journal.append([{ id: 'after', n: 1 }]);
    live.set('after', { id: 'after', n: 1 });
    await journal.close();

    const replayed = new Map((await loadJournal(items)).records.map((r) => [r.id, r]));
    expect(replayed.size).toBe(live.size);
    for (const [id, item] of live) expect(replayed.get(id)?.n).toBe(item.n);
    expect(readdirSync(join(items.file, '..')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
