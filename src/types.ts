import type { CallingWindow } from './policy/calling-window.js';

/**
 * Status of one job (one lead of a run). `completed`, `busy`, `no_answer`, `failed` and
 * `canceled` are terminal: a job in one of them never changes again.
 */
export type JobStatus =
  | 'queued'
  | 'dialing'
  | 'ringing'
  | 'in_progress'
  | 'completed'
  | 'busy'
  | 'no_answer'
  | 'failed'
  | 'canceled';

/** Every job status, in the order a job moves through them (terminal ones last). */
export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'dialing',
  'ringing',
  'in_progress',
  'completed',
  'busy',
  'no_answer',
  'failed',
  'canceled',
];

/** The terminal job statuses. */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = [
  'completed',
  'busy',
  'no_answer',
  'failed',
  'canceled',
];

/** The job statuses of a job that holds a call (a slot): claimed and not yet terminal. */
export const LIVE_JOB_STATUSES: readonly JobStatus[] = ['dialing', 'ringing', 'in_progress'];

/** Status of a run. `stopped` and `completed` are final. */
export type RunStatus = 'running' | 'paused' | 'stopped' | 'completed';

/** Every run status. */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'paused', 'stopped', 'completed'];

/** Free-form data kept with a job and handed to the dialer (must be JSON-serialisable). */
export type JobMetadata = Record<string, unknown>;

/** One lead given to {@link OutboundQueue.startRun}. */
export interface LeadInput {
  /** The number to call, in E.164 form (`+14155550101`). */
  to: string;
  /** The host's own id for the lead; unique within a run when given. */
  leadId?: string;
  /** Caller id for this lead; defaults to the run's `from`. */
  from?: string;
  /** Data kept with the job and handed to the dialer. */
  metadata?: JobMetadata;
  /** Not dialed before this instant (a `Date` or epoch ms): a callback the lead asked for. */
  notBefore?: Date | number;
  /**
   * The lead's IANA time zone (`America/Chicago`), for its run's `window`; without it the zone
   * comes from the number, else from the window's `timeZone`.
   */
  timeZone?: string;
}

/** Input of {@link OutboundQueue.startRun}. */
export interface StartRunInput {
  /** The business (tenant) the run belongs to; its concurrency limit is shared by its runs. */
  businessId: string;
  /**
   * At most this many calls of the run at the same time (1 to 1000), within its business's limit
   * (`setBusinessLimits`; a business without one is held to the highest `concurrency` of its
   * live runs). Changed live with `setRunConcurrency`.
   */
  concurrency: number;
  /**
   * The run's weight among the runs of its business (a whole number from 1 to 100, default 1):
   * while several wait for the business's slots, a run of priority 3 gets three calls for each
   * call of a run of priority 1. No run starves.
   */
  priority?: number;
  /** The leads to call, in the order they should be dialed. */
  leads: readonly LeadInput[];
  /** Default caller id for the run's leads. */
  from?: string;
  /**
   * Idempotency key: starting a run again with the same id and the same input returns that run
   * (`created: false`) and writes nothing; the same id with a different input is refused with an
   * `IdempotencyConflictError`.
   */
  runId?: string;
  /** Accept two leads with the same `to` number in this run (default false: a `ValidationError`). */
  allowDuplicateNumbers?: boolean;
  /**
   * Calls again a lead whose call ended busy, unanswered, failed or on a machine, as each
   * outcome's rule says (default: no outcome is retried). See docs/policy.md.
   */
  retry?: RunRetryPolicy;
  /** No lead of the run is dialed before this instant (a `Date` or epoch ms). */
  startAt?: Date | number;
  /**
   * Caller ids to call the leads from (1 to 1000 E.164 numbers): a lead without its own `from`
   * is called from the pool's number that shares its area code (+1 numbers), else its country
   * calling code, else from the run's `from`. See docs/policy.md.
   */
  fromPool?: readonly string[];
  /**
   * When leads may be called, in each lead's local time: hours, weekdays, blocked dates, and
   * rules such as {@link US_CALLING_RULES}. A lead outside its window waits, in order, without a
   * slot. See docs/policy.md.
   */
  window?: CallingWindow;
}

/**
 * An outcome of a call that a run can retry: `busy`, `no_answer`, `failed` (a failed call, or a
 * dial the provider refused for good) and `machine` (answered by a machine or a fax, as answering
 * machine detection reports it in `answeredBy`).
 */
export type RetryOutcome = 'busy' | 'no_answer' | 'failed' | 'machine';

/** Every {@link RetryOutcome}. */
export const RETRY_OUTCOMES: readonly RetryOutcome[] = ['busy', 'no_answer', 'failed', 'machine'];

/** How a run calls a lead again after one outcome. */
export interface RetryRule {
  /** Most attempts of the job, the first included (1 to 20): 3 means two retries. */
  maxAttempts: number;
  /** Wait before the next attempt, in ms (0 to 30 days); it holds no slot meanwhile. */
  delayMs: number;
  /** `fixed` (default): every wait is `delayMs`; `exponential`: the n-th retry waits `delayMs × 2^(n-1)`. */
  backoff?: 'fixed' | 'exponential';
  /** Fraction of the wait drawn at random and taken off it (0 to 1, default 0): spreads retries out. */
  jitter?: number;
}

/** A run's retry rules, by outcome; an outcome without a rule ends the job. */
export type RunRetryPolicy = Partial<Record<RetryOutcome, RetryRule>>;

/** One attempt of a job, as {@link Job.attempts} keeps it. */
export interface JobAttempt {
  /** The attempt's number, from 1. */
  attempt: number;
  /** How the attempt ended (`queued` when the dial was not placed), or the job's status while it is the current one. */
  status: JobStatus;
  /** The provider's id of the attempt's call, when one was placed. */
  callId?: string;
  /** Why the attempt failed, as {@link Job.errorCode}. */
  errorCode?: string;
  /** Text that goes with `errorCode`. */
  errorMessage?: string;
  /** Answering machine detection's verdict for the call. */
  answeredBy?: string;
  /** Length of the call in seconds. */
  durationSec?: number;
  /** When the job was claimed for the attempt. */
  startedAt: Date;
  /** When the attempt ended; absent while it is under way. */
  endedAt?: Date;
}

/** What {@link OutboundQueue.startRun} resolves to: the run's summary, and whether this call created it. */
export interface StartRunResult extends RunSummary {
  /** True when this call wrote the run; false when `runId` named a run started with the same input. */
  created: boolean;
}

/** Queued jobs of a run that may not be dialed yet, counted by why (see `RunSummary.waiting`). */
export interface WaitingCounts {
  /** Tried before: an earlier attempt's outcome is retried later. */
  retry: number;
  /** Never tried: the run's `startAt` or the lead's `notBefore` is ahead. */
  scheduled: number;
  /** Outside its calling window: waits for the window to open in the lead's zone. */
  window: number;
  /** Its number is at the queue's `contactCap`: waits until it may be called again. */
  cap: number;
}

/** A run's state and its jobs counted per status. */
export interface RunSummary {
  /** The run's id: the `runId` given to `startRun`, or a generated UUID. */
  runId: string;
  /** The business (tenant) the run dials for. */
  businessId: string;
  /** Where the run stands: `running`, `paused`, or final (`stopped`, `completed`). */
  status: RunStatus;
  /** The run's concurrency limit (as started, or as last set by `setRunConcurrency`). */
  concurrency: number;
  /** The run's weight among the runs of its business (see {@link StartRunInput.priority}). */
  priority: number;
  /** Number of jobs (leads) in the run. */
  total: number;
  /** Jobs per status; every status is present. */
  counts: Record<JobStatus, number>;
  /** Jobs that hold a call now (`dialing`, `ringing`, `in_progress`). */
  active: number;
  /**
   * Queued jobs that may not be dialed yet, by why: `retry` (an earlier attempt's outcome is
   * retried later) and `scheduled` (the run's `startAt` or the lead's `notBefore`). Read by
   * `getRun` and the calls that answer a summary; absent in `listRuns` pages.
   */
  waiting?: WaitingCounts;
  /** When the run was started. */
  createdAt: Date;
  /** When the run was stopped or completed; absent while it is running or paused. */
  finishedAt?: Date;
}

/** One job as {@link OutboundQueue.listJobs} returns it. */
export interface Job {
  /** The job's id, unique across runs; the `after` cursor of `listJobs`. */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business (tenant) of the job's run, whose concurrency limit it counts against. */
  businessId: string;
  /** The host's id for the lead (`LeadInput.leadId`); absent when none was given. */
  leadId?: string;
  /** The number called, in E.164 form. */
  to: string;
  /** Caller id: the lead's `from`, else the run's; absent means the dialer's default. */
  from?: string;
  /** Current status; a terminal one never changes again. */
  status: JobStatus;
  /** How many times the job was claimed for dialing. */
  attempt: number;
  /** The provider's id of the call, once `dial()` returned it or an event carried it; cleared when the job is put back for a retry. */
  callId?: string;
  /** Why the job failed (or, while it waits for a retry, why its last dial failed): the provider's code, `DIAL_ERROR` when the dialer gave none, or `RUN_STOPPED`. */
  errorCode?: string;
  /** Human-readable text that goes with `errorCode`. */
  errorMessage?: string;
  /** Length of the call in seconds, as the provider reported it at the end. */
  durationSec?: number;
  /** Answering machine detection's verdict, when the dialer asked for it. */
  answeredBy?: string;
  /** The lead's metadata (`{}` when none was given). */
  metadata: JobMetadata;
  /**
   * The zones the lead is called in under its run's `window` (one IANA zone, or several joined
   * with `&` where its area code spans zones); absent when the run has no window.
   */
  timeZone?: string;
  /** When the job was written (the time its run was started). */
  createdAt: Date;
  /** When `dial()` returned the call id (the provider accepted the call); absent if it never did. */
  dialedAt?: Date;
  /** When the job reached its terminal status; absent until then. */
  endedAt?: Date;
  /**
   * Every attempt of the job, oldest first, the current one last (`getJob` only; absent in
   * `listJobs` pages). Empty before the first claim.
   */
  attempts?: JobAttempt[];
  /**
   * While the job is queued with a time set (a retry of its outcome or of a dial failure, its run's
   * `startAt`, its lead's `notBefore`): when it may be dialed. It may be past (the job is due).
   */
  retryAt?: Date;
}

/** Call statuses as the provider (Twilio) spells them. */
export type CallStatus =
  | 'initiated'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'no-answer'
  | 'failed'
  | 'canceled';

/** One piece of call progress, from a dialer's `ctx.report` or the host's webhook route. */
export interface CallEvent {
  /** The job the call was placed for (the `jobId` of the dial request; a Twilio callback carries it in its URL). */
  jobId: string;
  /** The job's lock token as handed to the dialer; an event must carry it or the job's call id. */
  lockToken?: string;
  /** The provider's id of the call (Twilio `CallSid`); without `lockToken`, it must equal the job's recorded call id. */
  callId?: string;
  /** The call's status as the provider spells it; it moves the job to the matching job status. */
  status: CallStatus;
  /** Length of the call in seconds, as the provider reports it; kept only with a terminal status. */
  durationSec?: number;
  /** The provider's error code for a failed call (Twilio `ErrorCode`); kept only with a terminal status. */
  errorCode?: string;
  /** The provider's text for `errorCode`; kept only with a terminal status. */
  errorMessage?: string;
  /** Answering machine detection's verdict (`human`, `machine_start`, `fax`, ...), when asked for. */
  answeredBy?: string;
  /** When the provider saw it; defaults to now. */
  at?: Date;
}

/** Options of {@link OutboundQueue.listJobs}. */
export interface ListJobsOptions {
  /** Only jobs in this status (or these statuses). */
  status?: JobStatus | readonly JobStatus[];
  /** Page size, 1 to 1000 (default 100). */
  limit?: number;
  /** Cursor: the `jobId` of the last job of the previous page. */
  after?: string;
}

/** Options of {@link OutboundQueue.listRuns}. */
export interface ListRunsOptions {
  /** Only runs of this business. */
  businessId?: string;
  /** Only runs in this status (or these statuses). */
  status?: RunStatus | readonly RunStatus[];
  /** Page size, 1 to 1000 (default 100). */
  limit?: number;
  /** Cursor: the `runId` of the last run of the previous page. */
  after?: string;
}

/** Options of {@link OutboundQueue.stop}. */
export interface StopOptions {
  /** Also hang up calls in progress through `dialer.hangup` (default false: they end naturally). */
  hangup?: boolean;
}

/** Options of {@link OutboundQueue.waitForRun}. */
export interface WaitForRunOptions {
  /** Reject with a `TimeoutError` after this many milliseconds (default: wait forever). */
  timeoutMs?: number;
}

/** Input of `setBusinessLimits`: the whole record of a business's limits (what is absent is cleared). */
export interface BusinessLimitsInput {
  /** At most this many calls of the business at the same time, over all its runs (1 to 1000). */
  concurrency: number;
  /** At most this many of its calls start in any second (> 0), across all processes. */
  dialsPerSecond?: number;
  /** The account group the business shares limits with (`setGroupLimits`), if any. */
  group?: string;
}

/** Input of `setGroupLimits`: the whole record of a group's limits (what is absent is cleared). */
export interface GroupLimitsInput {
  /** At most this many calls of the group's businesses at the same time (1 to 100,000). */
  concurrency?: number;
  /** At most this many of their calls start in any second (> 0), across all processes. */
  dialsPerSecond?: number;
}

/** A group's limits as stored. */
export interface GroupLimits {
  /** The group's name. */
  group: string;
  /** Its concurrency limit, if set. */
  concurrency?: number;
  /** Its dial-start rate, if set. */
  dialsPerSecond?: number;
  /** The businesses of the group. */
  businesses: string[];
}

/** One live run of a business, in {@link BusinessSummary}. */
export interface BusinessRunSummary {
  /** The run. */
  runId: string;
  /** `running` or `paused`. */
  status: RunStatus;
  /** The run's concurrency limit. */
  concurrency: number;
  /** The run's weight among the runs of its business. */
  priority: number;
  /** Its jobs that hold a call now. */
  active: number;
  /** Its jobs waiting to be dialed (`queued`). */
  waiting: number;
}

/** What `getBusiness` answers: a business's limits, and its live calls and waiting jobs per run. */
export interface BusinessSummary {
  /** The business. */
  businessId: string;
  /** Its own concurrency limit, if set (without one, the highest `concurrency` of its live runs applies). */
  concurrency?: number;
  /** Its dial-start rate, if set. */
  dialsPerSecond?: number;
  /** Its account group, if any, with the group's limits. */
  group?: GroupLimits;
  /** Whether `pauseBusiness` holds it paused (its runs read `paused`, and new runs start paused). */
  paused: boolean;
  /** Its jobs that hold a call now, over all its runs. */
  active: number;
  /** Its queued jobs, over all its live runs. */
  waiting: number;
  /** Its live runs (`running` or `paused`), newest first. */
  runs: BusinessRunSummary[];
}
