import { describe, expect, test } from 'vitest';
import { createGroupCommit, mapBounded } from '../../shared/async.ts';

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

describe('createGroupCommit', () => {
  /** A commit whose end the test decides; it records each group it was given. */
  function commits<T>() {
    const groups: T[][] = [];
    const open: Array<(failures?: ReadonlyMap<number, unknown>) => void> = [];
    const fails: Array<(error: unknown) => void> = [];
    return {
      groups,
      commit: (items: readonly T[]) => {
        groups.push([...items]);
        return new Promise<ReadonlyMap<number, unknown> | undefined>((resolve, reject) => {
          open.push(resolve);
          fails.push(reject);
        });
      },
      end(failures?: ReadonlyMap<number, unknown>) {
        fails.shift();
        open.shift()?.(failures);
      },
      fail(error: unknown) {
        open.shift();
        fails.shift()?.(error);
      },
    };
  }

  test('a lone item is committed at once, alone', async () => {
    const c = commits<string>();
    const send = createGroupCommit({ maxItems: 10, maxInFlight: 2, commit: c.commit });
    const done = send('a');
    expect(c.groups).toEqual([['a']]);
    c.end();
    await done;
  });

  test('items that arrive while every commit is busy go together, in order, up to maxItems', async () => {
    const c = commits<number>();
    const send = createGroupCommit({ maxItems: 3, maxInFlight: 1, commit: c.commit });
    const done = [0, 1, 2, 3, 4, 5].map((n) => send(n));
    expect(c.groups).toEqual([[0]]);
    c.end();
    await settle();
    expect(c.groups).toEqual([[0], [1, 2, 3]]);
    c.end();
    await settle();
    expect(c.groups).toEqual([[0], [1, 2, 3], [4, 5]]);
    c.end();
    await Promise.all(done);
  });

  test('a failed item rejects alone; a failed commit rejects its own items only', async () => {
    const c = commits<string>();
    const send = createGroupCommit({ maxItems: 10, maxInFlight: 1, commit: c.commit });
    const first = send('a');
    const [b, x, d] = ['b', 'x', 'd'].map((item) => send(item).then(() => 'stored', String));
    c.end();
    await first;
    await settle();
    expect(c.groups[1]).toEqual(['b', 'x', 'd']);
    c.end(new Map([[1, 'x was refused']]));
    expect(await Promise.all([b, x, d])).toEqual(['stored', 'x was refused', 'stored']);

    const lost = send('e').catch((error: unknown) => error);
    const kept = send('f');
    c.fail(new Error('connection reset'));
    expect(await lost).toEqual(new Error('connection reset'));
    await settle();
    c.end();
    await kept;
  });

  test('a bad maxItems or maxInFlight is refused', () => {
    const commit = async () => undefined;
    expect(() => createGroupCommit({ maxItems: 0, commit })).toThrow(RangeError);
    expect(() => createGroupCommit({ maxItems: 1, maxInFlight: 1.5, commit })).toThrow(RangeError);
  });
});
