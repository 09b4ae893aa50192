/**
 * Latency samples in milliseconds and their percentiles. Runs record at most a few hundred
 * thousand samples, so keeping them all and sorting once is exact and cheap enough.
 */
export class LatencyRecorder {
  private samples: number[] = [];
  private sorted = true;

  /** How many samples were recorded. */
  get count(): number {
    return this.samples.length;
  }

  /**
   * Adds one sample.
   * @param ms - the latency in milliseconds
   */
  record(ms: number): void {
    this.samples.push(ms);
    this.sorted = false;
  }

  /**
   * Adds every sample of another recorder (to pool the repetitions of a workload).
   * @param other - the recorder to copy from
   */
  merge(other: LatencyRecorder): void {
    for (const ms of other.samples) this.record(ms);
  }

  /**
   * The nearest-rank percentile.
   * @param p - the percentile, 0 to 100
   * @returns the latency in ms, or null when nothing was recorded
   */
  percentile(p: number): number | null {
    if (this.samples.length === 0) return null;
    if (!this.sorted) {
      this.samples.sort((a, b) => a - b);
      this.sorted = true;
    }
    const rank = Math.min(this.samples.length, Math.max(1, Math.ceil((p / 100) * this.samples.length)));
    return this.samples[rank - 1] ?? null;
  }
}
