import type { JobStatus } from '../types.js';
import type { HistogramSnapshot } from './fixed-bucket-histogram.js';

/** One business in {@link QueueMetricsSnapshot}. */
export interface BusinessMetrics {
  /** The business. */
  businessId: string;
  /** `dial()` calls this process made for it (placed and failed), since the queue was constructed. */
  dials: number;
  /** Of those, the ones that threw (`job:dialed` with an `errorCode`). */
  dialFailures: number;
  /**
   * Ends of its jobs' attempts this process wrote, by the status they left the job in: a
   * terminal one, or `queued` for an attempt that will be retried (`job:ended`).
   */
  outcomes: Partial<Record<JobStatus, number>>;
  /**
   * Its calls live now, in any of its runs, over every process (a run stopped without hang-up
   * counts until its calls end, so this may exceed `getBusiness().active`).
   */
  live: number;
  /**
   * Its concurrency limit now: its own, or else the highest of its live runs' (an account
   * group's limit on top is not counted); 0 when it has neither a limit of its own nor a live run.
   * Absent for a business this process counted that the store has nothing live for.
   */
  limit?: number;
  /** Its jobs waiting now in its live runs, over every process (`getBusiness().waiting`). */
  waiting: number;
}

/**
 * What `OutboundQueue.metrics()` answers. Counters and histograms are this process's, since the
 * queue was constructed (sum them over processes); gauges (`live`, `limit`, `waiting`) are read
 * from the store, the truth over every process. See docs/observability.md.
 */
export interface QueueMetricsSnapshot {
  /** When the snapshot was taken (epoch ms, the queue's clock). */
  takenAt: number;
  /** Since when the counters and histograms count (epoch ms: when the queue was constructed). */
  since: number;
  /**
   * Each business with a live run or counted by this process, by id: the businesses of
   * {@link JobStore.businessLoads}, and those this process dialed or ended jobs of.
   */
  businesses: BusinessMetrics[];
  /**
   * Hand-off latency, seconds: from a call's end reaching this process to the `dial()` of the job
   * handed its slot (`JobDialingEvent.handOffMs`).
   */
  handOffDuration: HistogramSnapshot;
  /** `dial()` latency, seconds: called to returned or thrown (`JobDialedEvent.durationMs`). */
  dialDuration: HistogramSnapshot;
  /** Call duration, seconds, as the provider reported it with the call's end (`CallEventHandledEvent.callDurationSec`). */
  callDuration: HistogramSnapshot;
}
