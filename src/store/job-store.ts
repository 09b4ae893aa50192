import type { SlotHolders } from '../limiter/slot-limiter.js';
import type { ContactCap } from '../policy/contact-cap.js';
import type { Job, JobMetadata, JobStatus, ListJobsOptions, RunStatus, WaitingCounts } from '../types.js';
import type {
  BusinessLimitsRecord,
  BusinessLoad,
  BusinessRecord,
  GroupLimitsRecord,
  GroupRecord,
  PutBusinessLimitsResult,
  RunLimitsChange,
} from './business-record.js';
import type { NewRun, RunQuery, RunRecord } from './run-record.js';

export type {
  BusinessLimitsRecord,
  BusinessLoad,
  BusinessRecord,
  GroupLimitsRecord,
  GroupRecord,
  PutBusinessLimitsResult,
  RunLimitsChange,
} from './business-record.js';
export type { NewRun, RunQuery, RunRecord } from './run-record.js';

/** A job to create; `seq` orders the jobs of a run. */
export interface NewJob {
  /** The job's id, unique across runs. */
  jobId: string;
  /** Position of the job in its run, from 1 (the lead's index + 1). */
  seq: number;
  /** The host's id for the lead, when given. */
  leadId?: string;
  /** The number to call, in E.164 form. */
  to: string;
  /** Caller id, already resolved from the lead's or run's `from`; absent: the dialer's default. */
  from?: string;
  /** The lead's metadata (`{}` when none), stored as JSON. */
  metadata: JobMetadata;
  /** Not dialed before this instant (epoch ms): the run's `startAt`, the lead's `notBefore`. */
  notBefore?: number;
  /** The lead's zones for its run's window, joined with `&`; absent when the run has no window. */
  timeZone?: string;
}

/** A queued job as the run feeder sees it. */
export interface QueuedJobRef {
  /** The queued job's id. */
  jobId: string;
  /** Its position in the run: pass the last one seen as `afterSeq` to read the next page. */
  seq: number;
  /** The number to call (read for a run with a window). */
  to?: string;
  /** The job's zones (see {@link NewJob.timeZone}; read for a run with a window). */
  timeZone?: string;
}

/** A queued job to hold back until its calling window opens (see {@link JobStore.deferJobs}). */
export interface DeferredJob {
  /** The job's id. */
  jobId: string;
  /** When its window opens (epoch ms). */
  until: number;
}

/** The end of a call that a claim must follow (see {@link JobStore.claimJobAfter}). */
export interface EndedCall {
  /** The job whose call ended. */
  jobId: string;
  /** The lock token of the claim that placed the call. */
  lockToken: string;
}

/** A job the caller has just claimed for dialing, with its fresh lock token. */
export interface ClaimedJob {
  /** The claimed job's id. */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business (tenant) of the job's run. */
  businessId: string;
  /** The number to call, in E.164 form. */
  to: string;
  /** Caller id of the job; absent: the dialer's default. */
  from?: string;
  /** Claims of the job so far, this one included (1 on the first claim). */
  attempt: number;
  /** The token this claim wrote; later writes for this attempt must present it. */
  lockToken: string;
  /** The lead's metadata (`{}` when none). */
  metadata: JobMetadata;
  /** The job's zones for its run's window (see {@link NewJob.timeZone}); absent without one. */
  timeZone?: string;
}

/** The fields of a job the engine needs to route an event or reconcile a slot. */
export interface JobRoute {
  /** The job's id. */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business (tenant) of the job's run: the limiter key of its slot. */
  businessId: string;
  /** The job's current status. */
  status: JobStatus;
  /** Token of the job's latest claim; absent if it was never claimed or was put back for a retry. */
  lockToken?: string;
  /** The provider's id of the call, once known; absent before `dial()` returned or an event carried it. */
  callId?: string;
  /** Epoch ms of the job's last change. */
  updatedAt: number;
  /** How many times the job was claimed (the number of its current or last attempt). */
  attempt: number;
}

/** A status change asked by a call event; it applies only if it matches the job and moves it forward. */
export interface JobTransition {
  /** The job to change. */
  jobId: string;
  /** Must equal the job's lock token, unless `callId` equals the job's call id. */
  lockToken?: string;
  /**
   * The event's provider call id: may stand in for `lockToken`, and is recorded if the job has none
   * yet. When the job holds another call id, the change does not apply, whatever the token.
   */
  callId?: string;
  /** The status to move to; applied only from an earlier live status (`dialing`, `ringing`, `in_progress`). */
  status: JobStatus;
  /** Error code to record; written only with a terminal `status`. */
  errorCode?: string;
  /** Error text to record; written only with a terminal `status`. */
  errorMessage?: string;
  /** Length of the call in seconds; written only with a terminal `status`. */
  durationSec?: number;
  /** Answering machine detection's verdict; kept once known. */
  answeredBy?: string;
  /**
   * A fresh token written with the change: a claim given up by another than its holder (the
   * reconciler) gets one, so that the holder's late writes (a `dial()` that returns after all)
   * fail as the conflict they are.
   */
  newLockToken?: string;
}

/** What {@link JobStore.jobsOffCall} answers. */
export interface JobsOffCall {
  /** Terminal, or gone. */
  ended: string[];
  /** Queued: back in line (a retry of an earlier attempt), or never claimed. */
  queued: string[];
}

/** Outcome of {@link JobStore.createRun}. */
export interface CreateRunResult {
  /** The run as stored: the new one, or the existing run with that id. */
  run: RunRecord;
  /** True when this call wrote the run and its jobs; false when a run with that id existed. */
  created: boolean;
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
  createRun(run: NewRun, jobs: Iterable<NewJob>): Promise<CreateRunResult>;
  /** Reads one run. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Counts a run's jobs per status (statuses without jobs may be absent). */
  countJobs(runId: string): Promise<Partial<Record<JobStatus, number>>>;
  /**
   * Counts a run's queued jobs that may not be dialed at `now`: those that were tried before
   * (waiting for a retry) and those never tried (scheduled).
   */
  countWaiting(runId: string, now: number): Promise<WaitingCounts>;
  /** Pages through a run's jobs in order. */
  listJobs(runId: string, options: ListJobsOptions): Promise<Job[]>;
  /**
   * Pages through runs, newest first (by creation time, then id).
   * @returns the page; empty when `after` names no run
   */
  listRuns(query: RunQuery): Promise<RunRecord[]>;
  /** Counts the jobs of each of `runIds` per status, in one read. */
  countJobsByRun(runIds: readonly string[]): Promise<Map<string, Partial<Record<JobStatus, number>>>>;
  /** Reads one job as the public API shows it. */
  getJob(jobId: string): Promise<Job | undefined>;
  /** Reads one job's routing fields. */
  getJobRoute(jobId: string): Promise<JobRoute | undefined>;
  /**
   * The next queued jobs of a run after `afterSeq` that may be dialed at `now`, in order.
   * Empty when the run is not `running`.
   * @param withNumbers - read each job's number and zones too (for a run with a window)
   */
  nextQueuedJobs(
    runId: string,
    afterSeq: number,
    limit: number,
    now: number,
    withNumbers?: boolean,
  ): Promise<QueuedJobRef[]>;
  /**
   * Makes queued jobs outside their calling window wait until it opens: each one's `notBefore`
   * becomes its `until`, and it counts as waiting for its window (see `WaitingCounts.window`).
   * Jobs no longer queued are left as they are.
   */
  deferJobs(jobs: readonly DeferredJob[], now: number): Promise<void>;
  /**
   * The earliest time after `now` at which one of a run's queued jobs becomes due (a retry, a
   * scheduled lead), if any. Jobs due already are not counted: the feeder's pass reads them.
   */
  nextRetryAt(runId: string, now: number): Promise<number | undefined>;
  /**
   * Claims a queued job of a running run: moves it to `dialing`, writes `lockToken`, counts an attempt.
   * @param fence - the business's fencing token that came with the slot (see
   *   {@link JobStore.fenceSlots}); when given, the claim fails unless it is still the current one
   * @param cap - when given, the claim also counts the number's contacts by the business over all
   *   runs in the same atomic step; at the cap it claims nothing and the job waits (queued, its
   *   `notBefore` the time the number may be called again, counted in `WaitingCounts.cap`)
   * @returns the claimed job, or undefined if it was not queued, its run is not running, the
   *   fence is stale, or the number is at its cap
   */
  claimJob(
    jobId: string,
    lockToken: string,
    now: number,
    fence?: number,
    cap?: ContactCap,
  ): Promise<ClaimedJob | undefined>;
  /**
   * Claims as {@link JobStore.claimJob} does, in one statement with the terminal status change of
   * `end` (its job, under its lock token) that waits to be written: the hand-off of a slot passed
   * on before its call's end was written (`SlotLimiter.pass`), so that no read sees both calls
   * live. Nothing is claimed when that statement fails (the claim throws its error). Optional:
   * without it, the engine claims once the end is written.
   * @returns as claimJob, or `'apart'` (nothing written) when no such change waits
   */
  claimJobAfter?(
    end: EndedCall,
    jobId: string,
    lockToken: string,
    now: number,
    fence?: number,
  ): Promise<ClaimedJob | undefined | 'apart'>;
  /**
   * Records the provider's call id after `dial()` returned.
   * @returns false when the lock token no longer matches (a real conflict)
   */
  recordDialed(jobId: string, lockToken: string, callId: string, now: number): Promise<boolean>;
  /** Applies a status change if it matches the job's token or call id and moves the job forward. */
  transition(change: JobTransition, now: number): Promise<TransitionResult>;
  /**
   * Puts a claimed job back in line after a transient dial failure; clears its lock token. The
   * attempt is kept, as status `queued` with the error (see `Job.attempts`).
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
   * Ends the live attempt of a job with a terminal change and puts the job back in line for a
   * retry from `retryAt`, in one step: the attempt is kept (see `Job.attempts`), the job reads
   * `queued`, without token or call id, while its run is running or paused. The change must match
   * the job's live call as a {@link JobStore.transition} must.
   * @returns the job's route, now `queued`; undefined when nothing changed (no match, or its run
   *   is stopped or completed: the caller then writes the change as it is)
   */
  retryJob(change: JobTransition, retryAt: number, now: number): Promise<JobRoute | undefined>;
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
  /**
   * Which of `jobIds` hold no call: `ended` (terminal, or gone) and `queued` (back in line, for a
   * retry of an earlier attempt).
   */
  jobsOffCall(jobIds: readonly string[]): Promise<JobsOffCall>;
  /**
   * Raises a limiter scope's fencing token for every member of the scope, then reads the scope:
   * its members and their limits, the jobs of the members that hold calls (`dialing`, `ringing`,
   * `in_progress`), the limits and weights of those jobs' runs, and the group's limit. From then
   * on a {@link JobStore.claimJob} of a member's job that presents an older token fails, and
   * every claim that succeeded with an older token is among the holders read. This is what lets
   * a limiter that lost its state (Redis restarted empty), or whose scope gained or lost a
   * business, rebuild it without a grant from before ever being dialed beyond the limit.
   *
   * The members of a group's scope (`groupScope(name)`) are the businesses whose group it is;
   * those of a business's own scope, that business, unless it belongs to a group (then none: its
   * jobs are granted in the group's scope, and nothing is written).
   * @param key - a limiter scope (see `businessScope` and `groupScope`)
   * @param above - a token the new one must exceed as well: the token of a limiter state that
   *   this database never issued (made with another database, or before this database was
   *   restored from a backup). Rebuilt under a token above it, the limiter's state replaces the
   *   foreign one, and no grant of the foreign state can be claimed.
   * @returns the new token (above every member's stored one and `above`; `(above ?? 0) + 1` when
   *   the scope has no members) and what was read
   * @throws ValidationError when `above` is not a whole number >= 0
   */
  fenceSlots(key: string, above?: number): Promise<SlotHolders>;
  /**
   * Reads the business's current fencing token without raising it (0 when none was ever raised):
   * the token of the scope it was last fenced in (every member of a scope gets the scope's).
   * After a fenced claim failed, it tells a grant of a state rebuilt since (the token read is
   * above the grant's) from a grant of a state made with another database (below the grant's).
   */
  slotFence(businessId: string): Promise<number>;
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
  /**
   * Reads a business's limits, group and pause.
   * @returns the record, or undefined when none of them was ever set for the business
   */
  getBusiness(businessId: string): Promise<BusinessRecord | undefined>;
  /**
   * Every business with a live (`running` or `paused`) run or a live call, by id, in one read (the
   * gauges of `queue.metrics()` and the OpenTelemetry instruments):
   * - `active`: its calls live now (`dialing`, `ringing`, `in_progress`) over all its runs,
   *   stopped ones included: a run stopped without hang-up keeps its calls up and their limiter
   *   slots held until they end. `OutboundQueue.getBusiness().active` counts its live runs only;
   * - `waiting`: its `queued` jobs in its live runs (a stopped run's are never dialed);
   * - `limit`: its own concurrency limit, else the highest concurrency of its live runs, else 0
   *   (live calls left by stopped runs alone: no run may place a new call).
   *
   * Its cost grows with the backlog: it reads the index entries of every queued job of the live
   * runs (and of each live call). Call it at collection intervals, not per request.
   */
  businessLoads(): Promise<BusinessLoad[]>;
  /**
   * Writes a business's limits and group (all three; its pause is kept), in one transaction.
   * When the group changes, the business's fencing token is raised in the same transaction (see
   * {@link JobStore.fenceSlots}): a slot granted in the scope it leaves can no longer be claimed.
   * @param now - the time of the change (epoch ms)
   * @returns the group the business had before (null: none, or no record)
   * @throws ValidationError when a limit is not a whole number >= 1 or a positive number, or the
   *   group's name is empty, longer than 255 characters or holds NUL
   */
  putBusinessLimits(
    businessId: string,
    limits: BusinessLimitsRecord,
    now: number,
  ): Promise<PutBusinessLimitsResult>;
  /**
   * Pauses or resumes a business (its limits and group are kept; a business without a record
   * gets one, without limits or group).
   * @param now - the time of the change (epoch ms)
   */
  setBusinessPaused(businessId: string, paused: boolean, now: number): Promise<void>;
  /**
   * Reads an account group's limits.
   * @returns the record, or undefined when the group's limits were never set
   */
  getGroup(group: string): Promise<GroupRecord | undefined>;
  /**
   * Writes an account group's limits (both of them).
   * @param now - the time of the change (epoch ms)
   * @throws ValidationError when a limit is not a whole number >= 1 or a positive number
   */
  putGroupLimits(group: string, limits: GroupLimitsRecord, now: number): Promise<void>;
  /** The businesses whose group is `group` (its members), by id in code-unit order. */
  listGroupMembers(group: string): Promise<string[]>;
  /**
   * Changes a run's concurrency and/or weight.
   * @param now - the time of the change (epoch ms)
   * @returns the run as stored after the change, or undefined when there is no such run
   * @throws ValidationError when a value given is not a whole number >= 1
   */
  setRunLimits(runId: string, change: RunLimitsChange, now: number): Promise<RunRecord | undefined>;
  /**
   * Runs finished (stopped or completed) before `before` with every job ended, oldest first: what
   * a retention purge may delete.
   */
  finishedRuns(before: number, limit: number): Promise<string[]>;
  /**
   * Deletes up to `maxJobs` ended jobs of a finished run (and their attempts) in one transaction,
   * then the run itself once it has no job left.
   */
  purgeRunJobs(runId: string, maxJobs: number): Promise<PurgedJobs>;
}

/** What one {@link JobStore.purgeRunJobs} deleted. */
export interface PurgedJobs {
  /** Jobs deleted. */
  jobs: number;
  /** Whether the run's own row was deleted (it had no job left). */
  runDeleted: boolean;
}
