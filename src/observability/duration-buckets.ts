/**
 * Bucket boundaries, in seconds, of the queue's duration histograms: the same for
 * `queue.metrics()` and for the OpenTelemetry instruments (as their advice), so both read alike.
 */

/**
 * Hand-off latency: from a tenth of a millisecond (a hand-off takes about one, SPEC §4's target
 * p50 ≤ 1 ms and p99 ≤ 5 ms) up to seconds (one waiting out an outage).
 */
export const HAND_OFF_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5, 10,
];

/** `dial()` latency: a provider's API call, tens of milliseconds to its timeout. */
export const DIAL_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30,
];

/** Call duration as the provider reports it (whole seconds): a ring to an hour-long call. */
export const CALL_BUCKETS: readonly number[] = [
  1, 5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600,
];
