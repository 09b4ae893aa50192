import type { JobStatus } from '../types.js';

/** Payload of `job:dialing`: a job holds a slot and its call is being placed. */
export interface JobDialingEvent {
  jobId: string;
  runId: string;
  businessId: string;
  attempt: number;
  /** Slots of the business held after this one was taken. */
  active: number;
  limit: number;
}

/** Payload of `job:waiting`: a job waits in its business's line for a free slot. */
export interface JobWaitingEvent {
  jobId: string;
  runId: string;
  businessId: string;
  active: number;
  limit: number;
  queueLength: number;
}

/** Payload of `job:ended`: a job reached a terminal status. */
export interface JobEndedEvent {
  jobId: string;
  runId: string;
  businessId: string;
  status: JobStatus;
}

/** Payload of `slot:released`: a call ended and its slot was freed (and maybe handed on). */
export interface SlotReleasedEvent {
  businessId: string;
  jobId: string;
  active: number;
  limit: number;
  queueLength: number;
  /** Jobs that were handed the freed slot. */
  promoted: string[];
}

/** Payload of `run:completed`: every job of the run is terminal. */
export interface RunCompletedEvent {
  runId: string;
  businessId: string;
}

/** The events {@link OutboundQueue} emits, by name. */
export interface OutboundQueueEvents {
  'job:dialing': JobDialingEvent;
  'job:waiting': JobWaitingEvent;
  'job:ended': JobEndedEvent;
  'slot:released': SlotReleasedEvent;
  'run:completed': RunCompletedEvent;
  /** A failure the queue handled but the host should know of (dialer auth failure, lost conflict, outage). */
  error: Error;
}

/** Name of an {@link OutboundQueueEvents} event. */
export type OutboundQueueEventName = keyof OutboundQueueEvents;
