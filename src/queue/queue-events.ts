import type { JobStatus } from '../types.js';

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
  /** A job was put in its run's line to wait for a free slot. */
  'job:waiting': JobWaitingEvent;
  /** A job's call attempt ended: terminal, or back in line for a retry (emitted by the process that wrote it). */
  'job:ended': JobEndedEvent;
  /** A job's slot was freed and handed to the next waiting jobs, if any. */
  'slot:released': SlotReleasedEvent;
  /** Every job of a run is terminal and the run was marked `completed`. */
  'run:completed': RunCompletedEvent;
  /** A failure the queue handled but the host should know of (dialer auth failure, lost conflict, outage). */
  error: Error;
}

/** Name of an {@link OutboundQueueEvents} event. */
export type OutboundQueueEventName = keyof OutboundQueueEvents;
