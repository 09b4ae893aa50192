import { LatencyRecorder } from './latency.js';

/**
 * Measures hand-off latency the same way for every system: from the moment a call of a business
 * ends (its terminal event is reported) to the moment the next call of that business starts
 * (`dial()` for this library, the job function for the peers). Ends are paired with starts per
 * business in order; the first calls of a business (no end before them) are not hand-offs.
 */
export class HandoffTracker {
  /** Hand-off latencies in ms. */
  readonly latency = new LatencyRecorder();
  /** Calls started. */
  started = 0;
  /** Calls whose terminal event was reported. */
  ended = 0;
  /** Called after each end is recorded, with the number of ends so far. */
  onEnd: ((ended: number) => void) | undefined;
  private readonly pendingEnds = new Map<string, number[]>();

  /**
   * A call of `business` starts now (records a hand-off if a call of it ended before).
   * @param business - the business (limiter key, queue) the call belongs to
   */
  callStarted(business: string): void {
    const now = performance.now();
    this.started += 1;
    const ends = this.pendingEnds.get(business);
    const endedAt = ends?.shift();
    if (endedAt !== undefined) this.latency.record(now - endedAt);
  }

  /**
   * A call of `business` reports its terminal event now.
   * @param business - the business the call belongs to
   */
  callEnded(business: string): void {
    this.ended += 1;
    const ends = this.pendingEnds.get(business);
    if (ends) ends.push(performance.now());
    else this.pendingEnds.set(business, [performance.now()]);
    this.onEnd?.(this.ended);
  }
}
