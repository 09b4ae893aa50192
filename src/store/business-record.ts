import type { JobStore } from './job-store.js';

/** A business's settings as the store keeps them (see {@link JobStore.putBusinessLimits}). Times are epoch milliseconds. */
export interface BusinessRecord {
  /** The business (tenant) id. */
  businessId: string;
  /** Most concurrent calls of the business over all its runs; null: none set (each run is held to its own). */
  concurrency: number | null;
  /** Most dial starts per second of the business; null: none set. */
  dialsPerSecond: number | null;
  /** The account group the business shares its limits with; null: none (its own limiter scope). */
  group: string | null;
  /** Whether the business is paused (none of its runs dials). */
  paused: boolean;
  /** When the record last changed (epoch ms). */
  updatedAt: number;
}

/** An account group's limits as the store keeps them (see {@link JobStore.putGroupLimits}). */
export interface GroupRecord {
  /** The group's name. */
  group: string;
  /** Most concurrent calls over all the group's businesses; null: none set. */
  concurrency: number | null;
  /** Most dial starts per second over all the group's businesses; null: none set. */
  dialsPerSecond: number | null;
  /** When the record last changed (epoch ms). */
  updatedAt: number;
}

/** The limits and group of a business, as {@link JobStore.putBusinessLimits} writes them (all of them). */
export interface BusinessLimitsRecord {
  /** Most concurrent calls of the business (a whole number >= 1), or null for none. */
  concurrency: number | null;
  /** Most dial starts per second of the business (> 0), or null for none. */
  dialsPerSecond: number | null;
  /** The business's account group, or null for none. */
  group: string | null;
}

/** The limits of an account group, as {@link JobStore.putGroupLimits} writes them (both of them). */
export interface GroupLimitsRecord {
  /** Most concurrent calls over the group's businesses (a whole number >= 1), or null for none. */
  concurrency: number | null;
  /** Most dial starts per second over the group's businesses (> 0), or null for none. */
  dialsPerSecond: number | null;
}

/** What {@link JobStore.setRunLimits} changes: each part present is written. */
export interface RunLimitsChange {
  /** The run's concurrency (a whole number >= 1). */
  concurrency?: number;
  /** The run's weight among its business's runs (a whole number >= 1). */
  priority?: number;
}

/** Outcome of {@link JobStore.putBusinessLimits}. */
export interface PutBusinessLimitsResult {
  /** The business's group before the change (null: none, or the business had no record). */
  previousGroup: string | null;
}

/**
 * A business's live calls (over all its runs) and its waiting jobs and limit (over its live,
 * `running` or `paused`, runs): what {@link JobStore.businessLoads} reads for each business with a
 * live run or a live call.
 */
export interface BusinessLoad {
  /** The business. */
  businessId: string;
  /**
   * Its jobs that hold a call now (`dialing`, `ringing`, `in_progress`), in any run: a run stopped
   * without hang-up keeps its calls up, and their slots. (The dashboard fills this type from
   * `getBusiness`, which counts live runs only: there, calls of a stopped run are not counted.)
   */
  active: number;
  /** Its `queued` jobs in its live runs (retries and scheduled jobs included). */
  waiting: number;
  /** Its own concurrency limit, or else the highest concurrency of its live runs, or else 0. */
  limit: number;
}
