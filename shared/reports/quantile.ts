/**
 * The q-quantile of `sorted` (ascending, non-empty) by linear interpolation between closest
 * ranks (Hyndman & Fan type 7: numpy's default, Excel's PERCENTILE.INC). The median of an even
 * count is the mean of the two middle values.
 *
 * @example
 * quantileOfSorted([1, 2, 3, 4], 0.5); // 2.5
 * quantileOfSorted([1, 2, 3, 4], 0.9); // 3.7
 */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty list');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (position - lower);
}

/**
 * A growable list of numbers in a Float64Array: 8 bytes per value, no boxing. Cycle times of
 * completed processes live here (processes are far fewer than tasks), so the quantiles are exact.
 */
export class NumberList {
  #values = new Float64Array(16);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = value;
  }

  /** A sorted copy of the values. */
  sorted(): Float64Array {
    return this.#values.slice(0, this.#length).sort();
  }
}
