import type { EventEmitter } from 'node:events';
import type { OutboundQueueEvents } from '../queue/queue-events.js';
import type { BusinessLoad, JobStore } from '../store/job-store.js';
import type { JobStatus } from '../types.js';
import { CALL_BUCKETS, DIAL_BUCKETS, HAND_OFF_BUCKETS } from './duration-buckets.js';
import { FixedBucketHistogram } from './fixed-bucket-histogram.js';
import type { BusinessMetrics, QueueMetricsSnapshot } from './queue-metrics.js';

/** What this process counted of one business. */
interface BusinessCounts {
  dials: number;
  dialFailures: number;
  outcomes: Partial<Record<JobStatus, number>>;
}

/**
 * Counts this process's dials and outcomes per business and keeps its duration histograms, from
 * the queue's events; with the store's live counts, they make `OutboundQueue.metrics()`.
 * Memory: one small record per business ever counted, and fixed-size histograms.
 */
export class MetricsRecorder {
  private readonly counts = new Map<string, BusinessCounts>();
  private readonly handOff = new FixedBucketHistogram(HAND_OFF_BUCKETS, 's');
  private readonly dial = new FixedBucketHistogram(DIAL_BUCKETS, 's');
  private readonly call = new FixedBucketHistogram(CALL_BUCKETS, 's');
  private readonly since: number;

  /**
   * Starts counting the events of `emitter` (the queue's, for its lifetime).
   * @param emitter - the queue's events
   * @param now - the queue's clock (epoch ms)
   */
  constructor(
    emitter: EventEmitter,
    private readonly now: () => number,
  ) {
    this.since = now();
    emitter.on('job:dialing', (e: OutboundQueueEvents['job:dialing']) => {
      if (e.handOffMs !== undefined) this.handOff.record(e.handOffMs / 1000);
    });
    emitter.on('job:dialed', (e: OutboundQueueEvents['job:dialed']) => {
      const counts = this.of(e.businessId);
      counts.dials += 1;
      if (e.errorCode !== undefined) counts.dialFailures += 1;
      this.dial.record(e.durationMs / 1000);
    });
    emitter.on('job:ended', (e: OutboundQueueEvents['job:ended']) => {
      const { outcomes } = this.of(e.businessId);
      outcomes[e.status] = (outcomes[e.status] ?? 0) + 1;
    });
    emitter.on('call:event', (e: OutboundQueueEvents['call:event']) => {
      if (e.callDurationSec !== undefined) this.call.record(e.callDurationSec);
    });
  }

  /**
   * This process's counts and histograms, with every business's live calls, waiting jobs and
   * limit read from `store` (one read).
   */
  async snapshot(store: JobStore): Promise<QueueMetricsSnapshot> {
    const loads = new Map<string, BusinessLoad>();
    for (const load of await store.businessLoads()) loads.set(load.businessId, load);
    const ids = [...new Set([...loads.keys(), ...this.counts.keys()])].sort();
    const businesses = ids.map((businessId): BusinessMetrics => {
      const counts = this.counts.get(businessId);
      const load = loads.get(businessId);
      return {
        businessId,
        dials: counts?.dials ?? 0,
        dialFailures: counts?.dialFailures ?? 0,
        outcomes: { ...counts?.outcomes },
        live: load?.active ?? 0,
        ...(load && { limit: load.limit }),
        waiting: load?.waiting ?? 0,
      };
    });
    return {
      takenAt: this.now(),
      since: this.since,
      businesses,
      handOffDuration: this.handOff.snapshot(),
      dialDuration: this.dial.snapshot(),
      callDuration: this.call.snapshot(),
    };
  }

  private of(businessId: string): BusinessCounts {
    let counts = this.counts.get(businessId);
    if (!counts) {
      counts = { dials: 0, dialFailures: 0, outcomes: {} };
      this.counts.set(businessId, counts);
    }
    return counts;
  }
}
