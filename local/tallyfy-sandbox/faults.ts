import { seededRandom } from './prng.ts';
import type { Fault } from './types.ts';

interface ActiveFault {
  fault: Fault;
  remaining: number;
  random: () => number;
}

/** Injected failures, checked in insertion order; the first that fires wins. */
export class FaultTable {
  readonly #faults: ActiveFault[] = [];

  add(fault: Fault): () => void {
    if (fault.probability !== undefined && (fault.probability < 0 || fault.probability > 1)) {
      throw new RangeError(`Fault.probability must be within 0..1, got ${fault.probability}`);
    }
    if (fault.timing === 'after' && fault.kind === 'hang') {
      throw new RangeError('Fault.timing "after" needs kind "status" or "reset"');
    }
    const entry: ActiveFault = {
      fault,
      remaining: fault.times ?? Number.POSITIVE_INFINITY,
      random: seededRandom(fault.seed ?? 1),
    };
    this.#faults.push(entry);
    return () => {
      const at = this.#faults.indexOf(entry);
      if (at >= 0) this.#faults.splice(at, 1);
    };
  }

  clear(): void {
    this.#faults.length = 0;
  }

  /**
   * The fault that applies to this request at `timing` (before or after it is carried out), if
   * any, spending one of its `times`.
   */
  take(method: string, path: string, timing: 'before' | 'after' = 'before'): Fault | undefined {
    for (const entry of this.#faults) {
      const { fault } = entry;
      if (entry.remaining <= 0) continue;
      if ((fault.timing ?? 'before') !== timing) continue;
      if (fault.method && fault.method.toUpperCase() !== method) continue;
      if (fault.path !== undefined) {
        const hit = typeof fault.path === 'string' ? fault.path === path : fault.path.test(path);
        if (!hit) continue;
      }
      if (fault.probability !== undefined && entry.random() >= fault.probability) continue;
      entry.remaining--;
      return fault;
    }
    return undefined;
  }
}
