import type { CallingWindow } from '../policy/calling-window.js';
import type { RunRetryPolicy, RunStatus } from '../types.js';
import type { JobStore } from './job-store.js';

/** A run as the store keeps it. Times are epoch milliseconds. */
export interface RunRecord {
  /** The run's id, unique across businesses. */
  runId: string;
  /** The business (tenant) the run dials for (its jobs are granted in the business's limiter scope). */
  businessId: string;
  /** Where the run stands; `stopped` and `completed` are final. */
  status: RunStatus;
  /** The run's own limit of concurrent calls (its limit in the limiter; see `JobStore.setRunLimits`). */
  concurrency: number;
  /** Number of jobs (leads) in the run. */
  total: number;
  /** Default caller id of the run's leads; absent when `startRun` got none. */
  from?: string;
  /** The process that feeds the run now, while `ownerExpiresAt` is in the future. */
  ownerId?: string;
  /** When the owner's lease on the run lapses (epoch ms); absent when no process ever leased it or its owner released it. */
  ownerExpiresAt?: number;
  /** When the run was written (epoch ms). */
  createdAt: number;
  /** When the run became `stopped` or `completed` (epoch ms); absent before. */
  finishedAt?: number;
  /** Digest of the `startRun` input (see `NewRun.inputDigest`); absent for runs written before it was kept. */
  inputDigest?: string;
  /** The run's retry rules by outcome; absent when it retries nothing. */
  retry?: RunRetryPolicy;
  /** When the run's leads may be called; absent when at any time. */
  window?: CallingWindow;
  /** The run's weight among the runs of its business (1 unless set: see `NewRun.priority`). */
  priority: number;
}

/** A run to create. */
export interface NewRun {
  /** The run's id; an existing id makes `createRun` write nothing. */
  runId: string;
  /** The business (tenant) the run dials for. */
  businessId: string;
  /** The run's own limit of concurrent calls (1 to 1000). */
  concurrency: number;
  /** Number of jobs written with the run. */
  total: number;
  /** Default caller id of the run's leads, when given. */
  from?: string;
  /** The creating process, when it feeds the run itself. */
  ownerId?: string;
  /** When the creator's lease on the run lapses (epoch ms); set with `ownerId`. */
  ownerExpiresAt?: number;
  /** Creation time (epoch ms), also written as each job's creation time. */
  createdAt: number;
  /** Digest of the whole `startRun` input: a replay with the same `runId` must present the same one. */
  inputDigest?: string;
  /** The run's retry rules by outcome, when it has any. */
  retry?: RunRetryPolicy;
  /** When the run's leads may be called, when it says. */
  window?: CallingWindow;
  /**
   * The run's weight among the runs of its business (a whole number >= 1; default 1): while
   * runs wait, one of weight 2 is served twice as often as one of weight 1.
   */
  priority?: number;
  /** The run's first status (default `running`): `paused` for a run of a business paused by `pauseBusiness`. */
  status?: 'running' | 'paused';
}

/** What {@link JobStore.listRuns} reads. */
export interface RunQuery {
  /** Only runs of this business. */
  businessId?: string;
  /** Only runs in one of these statuses (empty or absent: any). */
  statuses?: readonly RunStatus[];
  /** Page size. */
  limit: number;
  /** Cursor: the run after which the page starts (newest first). */
  after?: string;
}
