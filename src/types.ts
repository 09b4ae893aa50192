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
}

/** Input of {@link OutboundQueue.startRun}. */
export interface StartRunInput {
  /** The business (tenant) the run belongs to; its concurrency limit is shared by its runs. */
  businessId: string;
  /** At most this many calls of the business at the same time (1 to 1000). */
  concurrency: number;
  /** The leads to call, in the order they should be dialed. */
  leads: readonly LeadInput[];
  /** Default caller id for the run's leads. */
  from?: string;
  /** Idempotency key: starting a run with an id that exists returns that run and writes nothing. */
  runId?: string;
}

/** A run's state and its jobs counted per status. */
export interface RunSummary {
  runId: string;
  businessId: string;
  status: RunStatus;
  concurrency: number;
  /** Number of jobs (leads) in the run. */
  total: number;
  /** Jobs per status; every status is present. */
  counts: Record<JobStatus, number>;
  /** Jobs that hold a call now (`dialing`, `ringing`, `in_progress`). */
  active: number;
  createdAt: Date;
  finishedAt?: Date;
}

/** One job as {@link OutboundQueue.listJobs} returns it. */
export interface Job {
  jobId: string;
  runId: string;
  businessId: string;
  leadId?: string;
  to: string;
  from?: string;
  status: JobStatus;
  /** How many times the job was claimed for dialing. */
  attempt: number;
  callId?: string;
  errorCode?: string;
  errorMessage?: string;
  /** Length of the call in seconds, as the provider reported it at the end. */
  durationSec?: number;
  /** Answering machine detection's verdict, when the dialer asked for it. */
  answeredBy?: string;
  metadata: JobMetadata;
  createdAt: Date;
  dialedAt?: Date;
  endedAt?: Date;
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
  jobId: string;
  /** The job's lock token as handed to the dialer; an event must carry it or the job's call id. */
  lockToken?: string;
  callId?: string;
  status: CallStatus;
  durationSec?: number;
  errorCode?: string;
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
