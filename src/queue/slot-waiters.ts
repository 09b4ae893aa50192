import { type Clock, systemClock } from '../clock.js';

/** How long a promotion nobody waited for is remembered (its feeder may be about to wait). */
const EARLY_PROMOTION_TTL_MS = 60_000;

/**
 * Feeders waiting for their queued job to be handed a slot. A hand-off (local or told by another
 * process) wakes the waiter of the promoted job at once; a timeout is only the safety net. A
 * promotion that arrives before its feeder starts waiting is remembered, so it is never missed.
 */
export class SlotWaiters {
  /**
   * @param clock - where the safety timeouts are set
   */
  constructor(private readonly clock: Clock = systemClock) {}

  private readonly waiting = new Map<string, (promoted: boolean) => void>();
  private readonly early = new Map<string, number>();
  /** Waiters of promoted jobs, to be woken on the next turn (see wakeSoon). */
  private readonly woken: Array<(promoted: boolean) => void> = [];

  /**
   * Waits until `jobId` is promoted, {@link SlotWaiters.interrupt} is called, or `timeoutMs` passes.
   * @param since - when the caller asked the limiter for a slot: an earlier promotion of the same
   *   job (told twice, by its own release and by the signal) is stale and must not wake it
   * @returns true when woken by a promotion
   */
  wait(jobId: string, timeoutMs: number, since: number): Promise<boolean> {
    const early = this.early.get(jobId);
    if (early !== undefined) {
      this.early.delete(jobId);
      if (early >= since) return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => finish(false), timeoutMs);
      const finish = (promoted: boolean) => {
        this.clock.clearTimeout(timer);
        if (this.waiting.get(jobId) === finish) this.waiting.delete(jobId);
        resolve(promoted);
      };
      this.waiting.get(jobId)?.(false);
      this.waiting.set(jobId, finish);
    });
  }

  /**
   * Wakes the waiters of promoted jobs, and remembers promotions nobody waits for yet.
   * @param jobIds - the jobs handed a slot
   * @param now - current time in ms
   */
  promoted(jobIds: readonly string[], now: number): void {
    for (const id of jobIds) {
      const waiter = this.waiting.get(id);
      if (waiter) this.wakeSoon(waiter);
      else {
        // Re-inserted, so that the map stays in the order told and the sweep below can stop early.
        this.early.delete(id);
        this.early.set(id, now);
      }
    }
    for (const [id, at] of this.early) {
      if (now - at < EARLY_PROMOTION_TTL_MS) break;
      this.early.delete(id);
    }
  }

  /**
   * Wakes `waiter` on the next turn of the event loop, with every other waiter woken in this
   * turn: the feeders' refills (a page read, an acquire) come after the hand-offs that promoted
   * their jobs have claimed them, which they would otherwise delay (a SQLite read blocks), and a
   * feeder woken for several jobs refills them in one acquire.
   */
  private wakeSoon(waiter: (promoted: boolean) => void): void {
    this.woken.push(waiter);
    if (this.woken.length > 1) return;
    setImmediate(() => {
      for (const wake of this.woken.splice(0)) wake(true);
    });
  }

  /** Ends the wait of `jobId` as a timeout would (its feeder is stopping). */
  interrupt(jobId: string): void {
    this.waiting.get(jobId)?.(false);
  }
}
