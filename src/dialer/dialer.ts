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
 * What {@link Dialer.findCall} learned about a `dial()` that failed with an unknown outcome.
 * - `found`: exactly one call matches: the dial placed it.
 * - `none`: no call matches: as far as the provider can tell, the dial placed nothing.
 * - `ambiguous`: several calls match (the same number dialed from the same caller id by another
 *   job or another system in the same moments) and nothing tells which, if any, is this job's.
 *   They are all listed with their state, so the queue can tell whether one of them may still be
 *   live.
 *
 * Each call is its latest state as a `CallEvent` with the provider's `callId` (its `jobId` may be
 * empty when the provider does not know the job, as for `fetchCall`).
 */
export type FindCallResult = CallFound | NoCallFound | CallsAmbiguous;

/** A call as {@link Dialer.findCall} reports it: its latest state, with the provider's id. */
export interface FoundCall extends CallEvent {
  /** The provider's id of the call (Twilio `CallSid`). */
  callId: string;
}

/** {@link FindCallResult} when exactly one call matches: the dial placed it. */
export interface CallFound {
  /** Exactly one call matches. */
  match: 'found';
  /** The call the dial placed, in its latest state. */
  call: FoundCall;
}

/** {@link FindCallResult} when no call matches: the dial placed nothing, as far as the provider can tell. */
export interface NoCallFound {
  /** No call matches. */
  match: 'none';
}

/** {@link FindCallResult} when several calls match and nothing tells which, if any, is this job's. */
export interface CallsAmbiguous {
  /** Several calls match. */
  match: 'ambiguous';
  /** Every candidate, in its latest state, so the queue can tell whether one may still be live. */
  calls: FoundCall[];
}

/**
 * Places calls. Throw a {@link DialError} to say whether a failure is permanent, transient,
 * unknown (the call may exist) or fatal; any other error counts as unknown (the queue never
 * dials blindly after a failure it cannot classify: throw `transient` when no call can exist).
 */
export interface Dialer {
  /**
   * Places one call. Called at most once per job attempt.
   * @param req - who to call and the job's identity
   * @param ctx - progress reporting for dialers that learn the outcome in-process
   * @returns the provider's call id
   * @throws {@link DialError} when the call could not be placed, or (kind `unknown`) when the
   *   request may have reached the provider and a call may exist
   */
  dial(req: DialRequest, ctx: DialContext): Promise<DialResult>;
  /** Ends a call in progress (used by `stop({ hangup: true })`). */
  hangup?(callId: string): Promise<void>;
  /**
   * Asks the provider where a call stands, for calls whose events were lost.
   * @returns the call's latest state as an event (its `jobId` may be empty), or undefined if unknown
   */
  fetchCall?(callId: string): Promise<CallEvent | undefined>;
  /**
   * Looks for the call a `dial()` that failed with an unknown outcome may have placed (same job
   * and token, or the same `to` and `from` since the dial started). The queue asks it, instead of
   * dialing again, after a {@link DialError} of kind `unknown`; it must never place a call.
   * @param req - the request given to the `dial()` whose outcome is unknown
   * @param since - when that `dial()` started (epoch ms); calls created before it are not its own
   *   (allow for the provider's clock and the precision of its timestamps)
   * @returns `found` with the call's latest state and `callId` when exactly one call matches,
   *   `none` when there is none, `ambiguous` with every candidate when several match
   * @throws {@link DialError} when the provider could not be asked (ask again later)
   */
  findCall?(req: DialRequest, since: number): Promise<FindCallResult>;
}
