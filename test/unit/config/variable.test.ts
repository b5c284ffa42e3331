import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as z from 'zod';
import { integer } from '../../../shared/config/variable.ts';

/** How `integer` was written before it was folded into one transform (issue 10, cold start). */
const chained = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const answer = (schema: z.ZodType<number, string>, text: string) => {
  const parsed = schema.safeParse(text);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false };
};

/** Texts near what config variables hold: digits, signs, spaces, decimals, huge numbers. */
const numberLikeText = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.stringMatching(/^[-+ ]?\d{0,20}(\.\d{0,3})?(e\d)? ?$/),
  fc.constantFrom('', '-', '0', '-0', '007', '1e3', '0x10', ' 5', '5 ', '9007199254740993', '١٢'),
  fc.string(),
);

describe('integer(min, max)', () => {
  test('accepts and rejects exactly what the chained zod schema did, with the same value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10, max: 100_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        numberLikeText,
        (min, span, text) => {
          const max = min + span;
          const ours = integer(min, max);
          const before = chained(min, max);
          for (const t of [text, String(min), String(max), String(min - 1), String(max + 1)]) {
            expect(answer(ours, t)).toEqual(answer(before, t));
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('bounds are inclusive and only decimal digits count', () => {
    const port = integer(1, 65_535);
    expect(port.safeParse('1').data).toBe(1);
    expect(port.safeParse('65535').data).toBe(65_535);
    expect(port.safeParse('0').success).toBe(false);
    expect(port.safeParse('65536').success).toBe(false);
    expect(port.safeParse('1e3').success).toBe(false);
    expect(port.safeParse('12.0').success).toBe(false);
  });
});
