import type { CallEvent, JobMetadata } from '../types.js';

/** What the queue asks a dialer to call. */
export interface DialRequest {
  /** The job to call for; a call event must carry it back (e.g. in the status callback URL). */
  jobId: string;
  /** The run the job belongs to. */
  runId: string;
  /** The business (tenant) the call is placed for. */
  businessId: string;
  /** The number to call, in E.164 form. */
  to: string;
  /** Caller id of the lead or run; absent: use the dialer's default. */
  from?: string;
  /** 1 for the first claim of the job, 2 for the first retry, ... */
  attempt: number;
  /** The job's current lock token: a webhook must carry it back (with `jobId`) to change the job. */
  lockToken: string;
  /** The lead's metadata (`{}` when none was given). */
  metadata: JobMetadata;
}

/** Given to {@link Dialer.dial}: how an in-process dialer reports call progress. */
export interface DialContext {
  /** Applies a call event to the job, as `OutboundQueue.handleCallEvent` does. */
  report(event: CallEvent): Promise<void>;
}

/** Result of a successful {@link Dialer.dial}: the provider's id of the call placed. */
export interface DialResult {
  /** The provider's id of the call (Twilio `CallSid`); call events may name the job by it. */
  callId: string;
}

/**
 * Places calls. Throw a {@link DialError} to say whether a failure is permanent, transient or fatal;
 * any other error counts as transient.
 */
export interface Dialer {
  /**
   * Places one call. Called at most once per job attempt.
   * @param req - who to call and the job's identity
   * @param ctx - progress reporting for dialers that learn the outcome in-process
   * @returns the provider's call id
   * @throws {@link DialError} when the call could not be placed
   */
  dial(req: DialRequest, ctx: DialContext): Promise<DialResult>;
  /** Ends a call in progress (used by `stop({ hangup: true })`). */
  hangup?(callId: string): Promise<void>;
  /**
   * Asks the provider where a call stands, for calls whose events were lost.
   * @returns the call's latest state as an event (its `jobId` may be empty), or undefined if unknown
   */
  fetchCall?(callId: string): Promise<CallEvent | undefined>;
}
