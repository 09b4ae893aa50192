import type { HandoffTracker } from '../measure/handoff.js';
import type { RedisProbe } from '../measure/redis-stats.js';
import type { SqlCounter } from '../measure/sql-counter.js';

/** The systems compared, as named in `bench/results/latest.json`. */
export type SystemName = 'outbound-queue' | 'bottleneck' | 'bullmq';

/** One dispatch workload: the same shape and the same simulated call for every system. */
export interface WorkloadSpec {
  /** Row label in the table and the JSON (`throughput`, `hand-off 20 ms`, ...). */
  name: string;
  businesses: number;
  leadsPerBusiness: number;
  /** Concurrent calls allowed per business. */
  concurrency: number;
  /** Length of each simulated call in ms (0: a zero-length call; Node's timers make it ~1 ms). */
  callMs: number;
  /**
   * The businesses share one account group with this concurrency on top of their own (SPEC §7):
   * the group's level is checked in every grant.
   */
  groupConcurrency?: number;
}

/** Where a peer finds the throwaway servers. */
export interface PeerEnv {
  redisUrl: string;
  /** The bench's own connection for INFO counters (not for the systems under test). */
  probe: RedisProbe;
  /** A fresh, empty PostgreSQL database. */
  newPostgresDatabase(): Promise<string>;
}

/** A system set up for one workload, ready to take its leads. */
export interface PreparedRun {
  /**
   * Enqueues every lead (as the system's users would) and resolves once the terminal event of
   * every call has been processed. The clock runs around this call only.
   */
  run(): Promise<void>;
  /** Bookkeeping after the last call (runs marked completed); counted, but outside the clock. */
  settle(): Promise<void>;
  /** Statements sent to the database, for systems that keep one. */
  sql?: SqlCounter;
  /** Configuration facts for the notes column. */
  notes: string[];
  /** Releases everything the run opened. */
  close(): Promise<void>;
}

/**
 * A system under test. Implementations report every call start and end to the tracker: a call
 * starts when the system calls the dialer (or job function) and ends when the simulated call
 * reports its terminal event.
 */
export interface Peer {
  readonly system: SystemName;
  /** What it runs on, e.g. `Redis + SQLite`. */
  readonly backend: string;
  /**
   * Whether the system can run a workload at all.
   * @returns the reason it cannot, or undefined when it can
   */
  unsupported(spec: WorkloadSpec): string | undefined;
  /**
   * Builds the system for `spec` (connections, queues, limiters), everything but the leads.
   * @returns the prepared run
   */
  prepare(spec: WorkloadSpec, env: PeerEnv, tracker: HandoffTracker): Promise<PreparedRun>;
}
