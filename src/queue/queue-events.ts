import type { DialFailureKind } from '../errors.js';
import type { CallStatus, JobStatus, RunStatus } from '../types.js';

/** Payload of `job:dialing`: a job holds a slot and its call is being placed. */
export interface JobDialingEvent {
  /** The job being dialed. */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business whose slot the job holds. */
  businessId: string;
  /** Claims of the job so far, this one included (1 on the first dial, 2 on the first retry, ...). */
  attempt: number;
  /** Slots of the business held after this one was taken. */
  active: number;
  /** The business's concurrency limit. */
  limit: number;
  /**
   * For a job dialed into a slot an ended call freed (a hand-off): milliseconds, with sub-ms
   * resolution (`performance.now()`), from that end reaching this process (the dialer's report or
   * `handleCallEvent`; for an end the engine wrote itself, a failed dial say, the release of its
   * slot) to this dial starting. Absent for a job granted a slot nobody freed (a run's first
   * calls, a raised limit, a slot reclaimed from a dead process).
   */
  handOffMs?: number;
}

/**
 * Payload of `job:dialed`: the `dial()` a `job:dialing` announced returned or threw. Each
 * `job:dialing` is followed by one `job:dialed` of the same job and attempt.
 */
export interface JobDialedEvent {
  /** The job dialed. */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business whose slot the job holds. */
  businessId: string;
  /** The job's attempt, as in its `job:dialing`. */
  attempt: number;
  /** Milliseconds from `dial()` being called to its answer (`performance.now()`, sub-ms resolution). */
  durationMs: number;
  /** The provider's id of the call placed; absent when `dial()` threw. */
  callId?: string;
  /**
   * When `dial()` threw: the code recorded on the job, the provider's (`DialError.providerCode`)
   * or `DIAL_ERROR` when the dialer gave none.
   */
  errorCode?: string;
  /**
   * When `dial()` threw: how the queue treats the failure. `unknown` means the call may exist
   * all the same; the queue asks the dialer before the job ends.
   */
  errorKind?: DialFailureKind;
}

/** What became of a call event: it moved its job (or recorded its call id), or changed nothing. */
export type CallEventOutcome = 'applied' | 'ignored';

/**
 * Payload of `call:event`: a call event was written, from the host's `handleCallEvent`, from a
 * dialer's own report, or found by the queue asking the dialer about an unknown outcome. An
 * event rejected as invalid, or whose write failed (and is tried again), emits none.
 */
export interface CallEventHandledEvent {
  /** The job the event names. */
  jobId: string;
  /** The job's run, when the event moved the job or this process holds its claim. */
  runId?: string;
  /** The job's business, when the event moved the job. */
  businessId?: string;
  /** The call status the event reported. */
  status: CallStatus;
  /** `applied` when it moved the job (as `CallEventResult.applied`), else `ignored` (duplicate, late, stale, forged). */
  result: CallEventOutcome;
  /** Milliseconds from the event reaching the queue to its write's answer (`performance.now()`). */
  durationMs: number;
  /**
   * The call's length in seconds as the provider reported it, on an applied event that ended the
   * call (`job:ended` carries none: the end's write answers with the job's routing fields only).
   */
  callDurationSec?: number;
}

/** Payload of `job:waiting`: a job waits in its run's line for a free slot. */
export interface JobWaitingEvent {
  /** The job put in line. */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business whose line the job waits in. */
  businessId: string;
  /** Slots of the business held when the job was put in line. */
  active: number;
  /** The business's concurrency limit. */
  limit: number;
  /** Jobs in the run's line, this one included. */
  queueLength: number;
}

/**
 * Payload of `job:ended`: a job's call attempt ended. Each `job:dialing` is followed by one
 * `job:ended` of the same job, emitted before the slot it frees is handed on, so `job:dialing`
 * minus `job:ended` counted by a listener never exceeds the limit.
 */
export interface JobEndedEvent {
  /** The job that ended. */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business of the job's run. */
  businessId: string;
  /**
   * The job's status now: the terminal status reached (`completed`, `busy`, `no_answer`, `failed`
   * or `canceled`), or `queued` when the job waits for a retry (`final` false).
   */
  status: JobStatus;
  /** True when the job reached a terminal status; false when it went back to `queued` for a retry. */
  final: boolean;
}

/**
 * The `job:ended` payload of a job whose attempt just ended, as the write returned it: final
 * unless the job went back to `queued` for a retry.
 * @param job - the job's routing columns after the write
 */
export function jobEndedEvent(job: {
  jobId: string;
  runId: string;
  businessId: string;
  status: JobStatus;
}): JobEndedEvent {
  const { jobId, runId, businessId, status } = job;
  return { jobId, runId, businessId, status, final: status !== 'queued' };
}

/** Payload of `slot:released`: a call ended and its slot was freed (and maybe handed on). */
export interface SlotReleasedEvent {
  /** The business whose slot was freed. */
  businessId: string;
  /** The job that held the slot. */
  jobId: string;
  /** Slots of the business held right after this one was freed, before it was handed on. */
  active: number;
  /** The business's concurrency limit. */
  limit: number;
  /** Jobs in the business's line before `promoted` left it. */
  queueLength: number;
  /** Jobs that were handed the freed slot. */
  promoted: string[];
}

/**
 * Payload of `run:status`: this process wrote a run's status: it started the run (`running`, or
 * `paused` for a paused business), paused, resumed or stopped it. (`run:completed` tells of the
 * run's end.)
 */
export interface RunStatusEvent {
  /** The run. */
  runId: string;
  /** Its status now. */
  status: RunStatus;
}

/** Payload of `run:completed`: every job of the run is terminal. */
export interface RunCompletedEvent {
  /** The run that completed. */
  runId: string;
  /** The business the run dialed for. */
  businessId: string;
}

/** The events {@link OutboundQueue} emits, by name. */
export interface OutboundQueueEvents {
  /** A job was claimed and its call is being placed. */
  'job:dialing': JobDialingEvent;
  /** The `dial()` of a `job:dialing` returned or threw. */
  'job:dialed': JobDialedEvent;
  /** A call event was written: applied, or ignored as stale. */
  'call:event': CallEventHandledEvent;
  /** A job was put in its run's line to wait for a free slot. */
  'job:waiting': JobWaitingEvent;
  /** A job's call attempt ended: terminal, or back in line for a retry (emitted by the process that wrote it). */
  'job:ended': JobEndedEvent;
  /** A job's slot was freed and handed to the next waiting jobs, if any. */
  'slot:released': SlotReleasedEvent;
  /** Every job of a run is terminal and the run was marked `completed`. */
  'run:completed': RunCompletedEvent;
  /** This process started, paused, resumed or stopped a run. */
  'run:status': RunStatusEvent;
  /** A failure the queue handled but the host should know of (dialer auth failure, lost conflict, outage). */
  error: Error;
}

/** Name of an {@link OutboundQueueEvents} event. */
export type OutboundQueueEventName = keyof OutboundQueueEvents;
