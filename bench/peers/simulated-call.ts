import type { LeadInput } from '../../src/index.js';

/**
 * The peers' simulated call, timed like `SimulatedDialer` (which this library's runs use): the
 * call proceeds on the next turn of the event loop (`setImmediate`), then lasts `ms` on a timer.
 * A zero-length call still takes one timer tick (Node runs `setTimeout(fn, 0)` after ~1 ms).
 * @param ms - the call's length
 * @returns a promise that resolves when the call ends
 */
export function simulatedCall(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(() => setTimeout(resolve, ms));
  });
}

/**
 * Leads with distinct valid US numbers, numbered from `first` across the whole workload.
 * @param first - index of the first lead in the workload
 * @param n - how many leads
 * @returns the leads
 */
export function benchLeads(first: number, n: number): LeadInput[] {
  return Array.from({ length: n }, (_, i) => ({
    to: `+1415${String(2_000_000 + ((first + i) % 7_000_000))}`,
    leadId: `lead-${first + i}`,
    metadata: { n: first + i },
  }));
}

/** Business ids used by every system, so rows read alike: `b0`, `b1`, ... */
export function businessId(index: number): string {
  return `b${index}`;
}

/**
 * Resolves once `count()` reaches `target`, checked whenever `poke` is called.
 * @returns the promise and the function to call after each change
 */
export function countdown(target: number, count: () => number): { done: Promise<void>; poke: () => void } {
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const poke = () => {
    if (count() >= target) resolve();
  };
  poke();
  return { done, poke };
}
