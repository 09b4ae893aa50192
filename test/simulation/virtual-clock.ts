import type { Clock } from '../../src/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Lets the engine's real I/O (SQLite, promises) settle between two timers. */
async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A virtual clock for the engine's `clock` option: time moves only when the test advances it, and
 * timers fire in order of their due time (then of their setting), so a schedule replays exactly.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  /**
   * @param start - the clock's first instant (epoch ms)
   */
  constructor(start = Date.UTC(2026, 0, 5, 15, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.current + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in order, and letting the
   * engine's I/O settle after each.
   */
  async advance(ms: number): Promise<void> {
    const until = this.current + ms;
    await settle();
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.timers.values()) {
        if (
          timer.at <= until &&
          (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))
        )
          next = timer;
      }
      if (!next) break;
      this.timers.delete(next.seq);
      this.current = Math.max(this.current, next.at);
      next.fn();
      await settle();
    }
    this.current = until;
    await settle();
  }
}
