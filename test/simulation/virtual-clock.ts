import type { Clock } from '../../src/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  owner?: ClockView;
}

/** Turns of the event loop `settle()` waits at most, against a livelock (a real one shows as a stall). */
const MAX_SETTLE_TURNS = 5_000;
/** Quiet turns in a row after which the engine's I/O is taken as settled. */
const QUIET_TURNS = 3;

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
   * @param busy - tells whether some I/O of the engine is still under way (the simulation's
   *   adapters count their calls in flight): `settle()` then waits until it has been false for a
   *   few turns, instead of a fixed number of turns
   */
  constructor(
    start = Date.UTC(2026, 0, 5, 15, 0, 0),
    private readonly busy?: () => boolean,
  ) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.schedule(fn, ms);
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer is due (epoch ms), or undefined when none is set. */
  nextDue(): number | undefined {
    let at: number | undefined;
    for (const timer of this.timers.values()) if (at === undefined || timer.at < at) at = timer.at;
    return at;
  }

  /**
   * A view of this clock for one simulated process: the same time, but its timers can be frozen
   * all at once (the process "crashed": nothing it set fires any more, nothing it sets later will).
   */
  view(): ClockView {
    return new ClockView(this);
  }

  /** @internal Sets a timer, owned by `owner` when a view set it. */
  schedule(fn: () => void, ms: number, owner?: ClockView): number {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.current + Math.max(0, ms), seq, fn, owner });
    return seq;
  }

  /** @internal Drops every timer a view set. */
  dropTimersOf(owner: ClockView): void {
    for (const [seq, timer] of this.timers) if (timer.owner === owner) this.timers.delete(seq);
  }

  /** Lets the engine's I/O and promises settle, without moving time. */
  async settle(): Promise<void> {
    if (!this.busy) {
      for (let i = 0; i < 20; i++) await turn();
      return;
    }
    let quiet = 0;
    for (let i = 0; i < MAX_SETTLE_TURNS && quiet < QUIET_TURNS; i++) {
      await turn();
      quiet = this.busy() ? 0 : quiet + 1;
    }
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in order, and letting the
   * engine's I/O settle after each.
   */
  async advance(ms: number): Promise<void> {
    const until = this.current + ms;
    await this.settle();
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
      await this.settle();
    }
    this.current = until;
    await this.settle();
  }
}

/** One turn of the event loop: every microtask queued before it has run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One simulated process's view of a {@link VirtualClock}; see {@link VirtualClock.view}. */
export class ClockView implements Clock {
  private frozen = false;

  /**
   * @param clock - the shared clock
   */
  constructor(private readonly clock: VirtualClock) {}

  now(): number {
    return this.clock.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.frozen ? -1 : this.clock.schedule(fn, ms, this);
  }

  clearTimeout(handle: unknown): void {
    this.clock.clearTimeout(handle);
  }

  /** Whether {@link ClockView.freeze} was called. */
  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Drops this view's timers and ignores those set later: its process no longer runs. */
  freeze(): void {
    this.frozen = true;
    this.clock.dropTimersOf(this);
  }
}
