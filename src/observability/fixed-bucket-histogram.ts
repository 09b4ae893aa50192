/** One cumulative bucket of a {@link HistogramSnapshot}. */
export interface HistogramBucket {
  /** The bucket's upper boundary, inclusive. */
  le: number;
  /** Values recorded at most `le`. */
  count: number;
}

/** A histogram as `queue.metrics()` reports it, in the unit of its metric. */
export interface HistogramSnapshot {
  /** The unit of every value below (UCUM: `s` for seconds). */
  unit: string;
  /** Values recorded. */
  count: number;
  /** Their sum. */
  sum: number;
  /** The smallest value recorded; null when none was. */
  min: number | null;
  /** The largest value recorded; null when none was. */
  max: number | null;
  /** Median, estimated from the buckets (linear within a bucket, within `min` and `max`); null when empty. */
  p50: number | null;
  /** 90th percentile, estimated as `p50` is; null when empty. */
  p90: number | null;
  /** 99th percentile, estimated as `p50` is; null when empty. */
  p99: number | null;
  /**
   * Cumulative counts: `count` values were at most `le`, for each boundary in increasing order.
   * Values above the last boundary are `count` minus the last bucket's count.
   */
  buckets: HistogramBucket[];
}

/**
 * Counts values in fixed buckets (explicit upper boundaries, as OpenTelemetry's explicit-bucket
 * histogram and Prometheus's `le` buckets do), with their count, sum, min and max: constant
 * memory however many values, percentiles estimated from the buckets.
 */
export class FixedBucketHistogram {
  /** Values per bucket: `counts[i]` in `(boundaries[i-1], boundaries[i]]`, the last one above every boundary. */
  private readonly counts: number[];
  private count = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  /**
   * @param boundaries - the buckets' upper boundaries, increasing
   * @param unit - the unit of the values (UCUM)
   */
  constructor(
    private readonly boundaries: readonly number[],
    private readonly unit: string,
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  /** Records one value; a value that is not a finite number is ignored. */
  record(value: number): void {
    if (!Number.isFinite(value)) return;
    let i = 0;
    while (i < this.boundaries.length && value > (this.boundaries[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count += 1;
    this.sum += value;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
  }

  /**
   * The value below which `q` percent of the values fall, estimated: the bucket it falls in is
   * found by counts, and the value placed linearly within that bucket's bounds, narrowed to the
   * values' `min` and `max` (so one value, or values all in one bucket's end, read exactly).
   * @param q - the percentile, 0 to 100
   * @returns the estimate; null when nothing was recorded
   */
  percentile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = (Math.min(Math.max(q, 0), 100) / 100) * this.count;
    let below = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const n = this.counts[i] as number;
      if (n === 0) continue;
      if (below + n >= rank) {
        const lower = Math.max(i === 0 ? this.min : (this.boundaries[i - 1] as number), this.min);
        const upper = Math.min(
          i === this.boundaries.length ? this.max : (this.boundaries[i] as number),
          this.max,
        );
        return lower + (upper - lower) * Math.max(0, (rank - below) / n);
      }
      below += n;
    }
    return this.max;
  }

  /** The histogram as it stands. */
  snapshot(): HistogramSnapshot {
    const empty = this.count === 0;
    let cumulative = 0;
    return {
      unit: this.unit,
      count: this.count,
      sum: this.sum,
      min: empty ? null : this.min,
      max: empty ? null : this.max,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      buckets: this.boundaries.map((le, i) => {
        cumulative += this.counts[i] as number;
        return { le, count: cumulative };
      }),
    };
  }
}
