import { describe, expect, it } from 'vitest';
import { FixedBucketHistogram } from '../../src/observability/fixed-bucket-histogram.js';

describe('FixedBucketHistogram', () => {
  it('answers null percentiles, min and max while empty', () => {
    const h = new FixedBucketHistogram([1, 2], 's');
    expect(h.snapshot()).toEqual({
      unit: 's',
      count: 0,
      sum: 0,
      min: null,
      max: null,
      p50: null,
      p90: null,
      p99: null,
      buckets: [
        { le: 1, count: 0 },
        { le: 2, count: 0 },
      ],
    });
  });

  it('reads one value exactly, whatever its bucket', () => {
    for (const value of [0.3, 1.7, 9]) {
      const h = new FixedBucketHistogram([1, 2, 4], 's');
      h.record(value);
      expect([h.percentile(50), h.percentile(99)]).toEqual([value, value]);
    }
  });

  it('puts a value on a boundary in the bucket it closes, and counts buckets cumulatively', () => {
    const h = new FixedBucketHistogram([1, 2], 's');
    for (const value of [1, 2, 2.5, Number.NaN]) h.record(value);
    expect(h.snapshot()).toMatchObject({
      count: 3,
      sum: 5.5,
      min: 1,
      max: 2.5,
      buckets: [
        { le: 1, count: 1 },
        { le: 2, count: 2 },
      ],
    });
  });

  it('interpolates within buckets: uniform values read their percentiles within a bucket width', () => {
    const boundaries = Array.from({ length: 20 }, (_, i) => (i + 1) * 5);
    const h = new FixedBucketHistogram(boundaries, 'ms');
    for (let v = 1; v <= 100; v++) h.record(v);
    for (const q of [10, 50, 90, 99]) {
      const p = h.percentile(q) as number;
      expect(Math.abs(p - q)).toBeLessThanOrEqual(5);
    }
    expect(h.percentile(0)).toBe(1);
    expect(h.percentile(100)).toBe(100);
  });

  it('reads the ms-scale hand-off percentiles apart: p50 near 1 ms, p99 near 5 ms', () => {
    const h = new FixedBucketHistogram(
      [0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01],
      's',
    );
    for (let i = 0; i < 98; i++) h.record(0.0009 + (i % 2) * 0.0002);
    h.record(0.0048);
    h.record(0.02);
    const p50 = h.percentile(50) as number;
    const p99 = h.percentile(99) as number;
    expect(p50).toBeGreaterThan(0.00075);
    expect(p50).toBeLessThanOrEqual(0.0015);
    expect(p99).toBeGreaterThan(0.003);
    expect(p99).toBeLessThanOrEqual(0.005);
    expect(h.percentile(100)).toBe(0.02);
  });
});
