/**
 * A small seeded pseudo-random generator (mulberry32): the only source of chance in the
 * simulation, so that one seed always replays the same schedule. Never `Math.random`.
 */
export class Random {
  private state: number;

  /**
   * @param seed - any integer; the same seed gives the same sequence
   */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /**
   * A generator of its own, drawn from this one: each part of the simulation (workload, faults,
   * provider) draws from its own stream, so adding a draw in one does not shift the others.
   */
  fork(): Random {
    return new Random(this.int(0, 0xffffffff));
  }

  /** Ids that are unique and the same on every replay (`<prefix>-1`, `<prefix>-2`, ...). */
  static ids(prefix: string): () => string {
    let n = 0;
    return () => `${prefix}-${++n}`;
  }
}
