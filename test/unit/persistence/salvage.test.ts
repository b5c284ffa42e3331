import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parsePartialJson, scanObjects } from '../../../local/persistence/index.ts';

const record = fc.record({
  id: fc.uuid(),
  body: fc.string({ maxLength: 40 }),
  n: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  nested: fc.option(fc.record({ ok: fc.boolean(), at: fc.constant(null) })),
});

describe('parsePartialJson', () => {
  test('a valid document parses whole', () => {
    const partial = parsePartialJson('{"a":[1,2,{"b":"c"}]} \n');
    expect(partial).toMatchObject({ complete: true, value: { a: [1, 2, { b: 'c' }] } });
  });

  test('a document cut anywhere keeps exactly the records written whole before the cut', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), fc.nat(), (records, cutSeed) => {
        const text = JSON.stringify({ version: 1, records });
        const cut = cutSeed % (text.length + 1);
        const partial = parsePartialJson(text.slice(0, cut));
        const kept = ((partial.value as { records?: unknown[] } | undefined)?.records ?? []).filter(
          (r) => partial.isComplete(r),
        );
        // a record is whole when its closing brace lies before the cut
        const whole = records.filter((_, i) => {
          const prefix = JSON.stringify({ version: 1, records: records.slice(0, i + 1) });
          return prefix.length - 2 <= cut;
        });
        // compared as JSON: what was written is what is read (-0 is written as 0)
        expect(kept).toEqual(JSON.parse(JSON.stringify(whole)));
        if (cut < text.length) expect(partial.complete).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  test('a pretty-printed document cut in a nested record keeps its container, not the record', () => {
    const text = JSON.stringify(
      {
        secrets: [
          { name: 'a', versions: [{ v: 1 }] },
          { name: 'b', versions: [{ v: 2 }] },
        ],
      },
      null,
      2,
    );
    const cut = text.indexOf('"v": 2');
    const partial = parsePartialJson(text.slice(0, cut));
    const secrets = (partial.value as { secrets: Array<{ name: string }> }).secrets;
    expect(secrets.map((s) => s.name)).toEqual(['a', 'b']);
    expect(partial.isComplete(secrets[0])).toBe(true);
    expect(partial.isComplete(secrets[1])).toBe(false);
    expect(partial.reason).toBe('the file ends early');
    expect(partial.stoppedAt).toBe(cut);
  });

  test('a bad byte in the middle stops the prefix there and says where', () => {
    const text = '{"items":[{"id":1},{"id":2}x,{"id":3}]}';
    const partial = parsePartialJson(text);
    expect(partial.complete).toBe(false);
    expect(partial.stoppedAt).toBe(text.indexOf('x'));
    expect(partial.reason).toBe('expected "," or "]"');
    expect((partial.value as { items: unknown[] }).items).toEqual([{ id: 1 }, { id: 2 }]);
  });

  test('text after a complete value is damage', () => {
    const partial = parsePartialJson('{"a":1}\u0000\u0000');
    expect(partial).toMatchObject({ complete: false, reason: 'unexpected text after the end' });
  });
});

describe('scanObjects', () => {
  test('finds every accepted object after a damaged stretch, looking inside rejected ones', () => {
    const text =
      '{"items":[{"id":1},\u0000\u0000garbage{"wrapper":{"id":2}},{"id":3,"x":{"id":99}},{"id":';
    const isItem = (v: Record<string, unknown>) => typeof v.id === 'number';
    const found = [...scanObjects(text, text.indexOf('garbage'), isItem)].map((f) => f.value.id);
    // 99 sits inside an accepted object: the scan skips it with its parent
    expect(found).toEqual([2, 3]);
  });
});
