import { describe, expect, test } from 'vitest';
import { mapBounded } from '../../shared/async.ts';

/** A task whose end the test decides, to observe what runs at once. */
function gate() {
  const open: Array<() => void> = [];
  let active = 0;
  let peak = 0;
  return {
    get peak() {
      return peak;
    },
    get waiting() {
      return open.length;
    },
    async run<T>(value: T): Promise<T> {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise<void>((resolve) => open.push(resolve));
      active -= 1;
      return value;
    },
    release() {
      open.shift()?.();
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('mapBounded', () => {
  test('runs at most `limit` tasks at once and keeps the input order', async () => {
    const tasks = gate();
    const done = mapBounded([1, 2, 3, 4, 5, 6, 7], 3, (n) => tasks.run(n * 10));
    for (let i = 0; i < 7; i++) {
      await settle();
      tasks.release();
    }
    expect(await done).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(tasks.peak).toBe(3);
  });

  test('pulls an async iterable only as fast as slots free up', async () => {
    let pulled = 0;
    async function* orgs() {
      for (let i = 0; i < 5; i++) {
        pulled += 1;
        yield `org${i}`;
      }
    }
    const tasks = gate();
    const done = mapBounded(orgs(), 2, (org, index) => tasks.run(`${index}:${org}`));
    await settle();
    expect(pulled).toBe(2);
    expect(tasks.waiting).toBe(2);
    tasks.release();
    await settle();
    expect(pulled).toBe(3);
    for (let i = 0; i < 4; i++) {
      tasks.release();
      await settle();
    }
    expect(await done).toEqual(['0:org0', '1:org1', '2:org2', '3:org3', '4:org4']);
  });

  test('an empty list gives an empty result; a bad limit is refused', async () => {
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
    await expect(mapBounded([1], 0, async () => 1)).rejects.toThrow(RangeError);
  });

  test('the first failure rejects the result', async () => {
    const failing = mapBounded([1, 2, 3], 2, async (n) => {
      if (n === 2) throw new Error('task 2 failed');
      return n;
    });
    await expect(failing).rejects.toThrow('task 2 failed');
  });
});
