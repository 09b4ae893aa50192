import type { Job, JobMetadata, JobStatus, ListJobsOptions, RunStatus } from '../types.js';

/** A run as the store keeps it. Times are epoch milliseconds. */
export interface RunRecord {
  runId: string;
  businessId: string;
  status: RunStatus;
  concurrency: number;
  total: number;
  from?: string;
  /** The process that feeds the run now, while `ownerExpiresAt` is in the future. */
  ownerId?: string;
  ownerExpiresAt?: number;
  createdAt: number;
  finishedAt?: number;
}

/** A run to create. */
export interface NewRun {
  runId: string;
  businessId: string;
  concurrency: number;
  total: number;
  from?: string;
  /** The creating process, when it feeds the run itself. */
  ownerId?: string;
  ownerExpiresAt?: number;
  createdAt: number;
}

/** A job to create; `seq` orders the jobs of a run. */
export interface NewJob {
  jobId: string;
  seq: number;
  leadId?: string;
  to: string;
  from?: string;
  metadata: JobMetadata;
}

/** A queued job as the run feeder sees it. */
export interface QueuedJobRef {
  jobId: string;
  seq: number;
}

/** A job the caller has just claimed for dialing, with its fresh lock token. */
export interface ClaimedJob {
  jobId: string;
  runId: string;
  businessId: string;
  to: string;
  from?: string;
  attempt: number;
  lockToken: string;
  metadata: JobMetadata;
}

/** The fields of a job the engine needs to route an event or reconcile a slot. */
export interface JobRoute {
  jobId: string;
  runId: string;
  businessId: string;
  status: JobStatus;
  lockToken?: string;
  callId?: string;
  /** Epoch ms of the job's last change. */
  updatedAt: number;
}

/** A status change asked by a call event; it applies only if it matches the job and moves it forward. */
export interface JobTransition {
  jobId: string;
  /** Must equal the job's lock token, unless `callId` equals the job's call id. */
  lockToken?: string;
  callId?: string;
  status: JobStatus;
  errorCode?: string;
  errorMessage?: string;
  durationSec?: number;
  /** Answering machine detection's verdict; kept once known. */
  answeredBy?: string;
}

/** Outcome of {@link JobStore.transition}: the job after the change, or undefined if nothing changed. */
export type TransitionResult = JobRoute | undefined;

/**
 * The durable record of runs and jobs. Every write that races with another process is a
 * compare-and-set; the engine relies on that, never on the limiter, for at-most-once dials.
 */
export interface JobStore {
  /** Creates or upgrades the store's tables; safe to call from many processes at once. */
  migrate(): Promise<void>;
  /**
   * Writes a run and all its jobs in one transaction, in batches.
   * @returns the run and whether it was created (false: a run with that id existed; nothing written)
   */
  createRun(run: NewRun, jobs: Iterable<NewJob>): Promise<{ run: RunRecord; created: boolean }>;
  /** Reads one run. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Counts a run's jobs per status (statuses without jobs may be absent). */
  countJobs(runId: string): Promise<Partial<Record<JobStatus, number>>>;
  /** Pages through a run's jobs in order. */
  listJobs(runId: string, options: ListJobsOptions): Promise<Job[]>;
  /** Reads one job's routing fields. */
  getJob(jobId: string): Promise<JobRoute | undefined>;
  /**
   * The next queued jobs of a run after `afterSeq` that may be dialed at `now`, in order.
   * Empty when the run is not `running`.
   */
  nextQueuedJobs(runId: string, afterSeq: number, limit: number, now: number): Promise<QueuedJobRef[]>;
  /** The earliest `notBefore` of a run's queued jobs that wait for a retry, if any. */
  nextRetryAt(runId: string): Promise<number | undefined>;
  /**
   * Claims a queued job of a running run: moves it to `dialing`, writes `lockToken`, counts an attempt.
   * @returns the claimed job, or undefined if it was not queued or its run is not running
   */
  claimJob(jobId: string, lockToken: string, now: number): Promise<ClaimedJob | undefined>;
  /**
   * Records the provider's call id after `dial()` returned.
   * @returns false when the lock token no longer matches (a real conflict)
   */
  recordDialed(jobId: string, lockToken: string, callId: string, now: number): Promise<boolean>;
  /** Applies a status change if it matches the job's token or call id and moves the job forward. */
  transition(change: JobTransition, now: number): Promise<TransitionResult>;
  /**
   * Puts a claimed job back in line after a transient dial failure; clears its lock token.
   * @returns false when the lock token no longer matches, or the run is stopped or completed
   */
  requeueJob(
    jobId: string,
    lockToken: string,
    notBefore: number,
    error: { code: string; message: string },
    now: number,
  ): Promise<boolean>;
  /**
   * Counts a run's claims whose call is not known to be placed yet (`dialing`, no call id): a
   * process between its claim and the end of its `dial()`.
   */
  countUnplacedClaims(runId: string): Promise<number>;
  /** Marks a job's call as still alive (resets its silence timer). */
  touchJob(jobId: string, now: number): Promise<void>;
  /** Moves a run from one of `from` to `to`. @returns false when the run was in none of `from` */
  setRunStatus(runId: string, from: readonly RunStatus[], to: RunStatus, now: number): Promise<boolean>;
  /** Cancels every queued job of a run. @returns how many were canceled */
  cancelQueuedJobs(runId: string, now: number): Promise<number>;
  /** Counts a run's jobs that are not terminal. */
  countUnfinished(runId: string): Promise<number>;
  /** The ids among `jobIds` whose job is terminal (or gone). */
  endedJobIds(jobIds: readonly string[]): Promise<string[]>;
  /** Ids of a business's jobs that hold calls (`dialing`, `ringing`, `in_progress`). */
  liveJobIds(businessId: string): Promise<string[]>;
  /** Call ids of a run's live jobs (for hang-up on stop). */
  liveCallIds(runId: string): Promise<string[]>;
  /** Live jobs with no change since `before` (silent calls), oldest first. */
  silentJobs(before: number, limit: number): Promise<JobRoute[]>;
  /**
   * Takes ownership of runs that are running or paused and have no live owner, and extends the
   * ownership of the runs `ownerId` holds.
   * @returns every run `ownerId` owns after the call
   */
  leaseRuns(ownerId: string, now: number, until: number, maxNew: number): Promise<RunRecord[]>;
  /** Gives up ownership of every run held by `ownerId` (on close), so others adopt them at once. */
  releaseRuns(ownerId: string): Promise<void>;
}
