import type { DialContext, DialResult } from '../dialer/dialer.js';
import type { DialError } from '../errors.js';
import type { ClaimedJob } from '../store/job-store.js';
import type { GrantedSlot } from './attempts.js';
import { asDialError, dialFailureCode } from './dial-failure.js';
import { emit, type QueueContext } from './queue-context.js';

/** What `dial()` answered: the call it placed, or how it failed. */
export type DialAnswer = { callId: string; error?: undefined } | { callId?: undefined; error: DialError };

/** The attempt's side of a dial: its phase moves, and the dialer's way to report on the call. */
export interface DialSteps {
  /** `dial()` is about to be called: the attempt is `dialing`. */
  dialing(): void;
  /** `dial()` answered (or threw). */
  answered(): void;
  /** How the dialer reports progress on the call. */
  context: DialContext;
}

/**
 * Calls `dial()` for a claimed job, told by `job:dialing` before it and `job:dialed` after: its
 * duration, and for a job dialed into a slot an ended call freed, the hand-off's latency. The
 * caller has made every check; nothing slow comes between the event and the call.
 * @param job - the claim to dial
 * @param slot - the grant: the business's counters, and when the end that freed it arrived
 * @param steps - the attempt's moves and the dial context
 * @returns the call id, or the failure as a {@link DialError} (never rejects)
 */
export async function placeCall(
  ctx: QueueContext,
  job: ClaimedJob,
  slot: GrantedSlot,
  steps: DialSteps,
): Promise<DialAnswer> {
  const { jobId, runId, businessId, attempt } = job;
  const dialingAt = performance.now();
  emit(ctx, 'job:dialing', {
    jobId,
    runId,
    businessId,
    attempt,
    active: slot.active,
    limit: slot.limit,
    ...(slot.freedAt !== undefined && { handOffMs: dialingAt - slot.freedAt }),
  });
  steps.dialing();
  const calledAt = performance.now();
  let dialing: Promise<DialResult>;
  try {
    // A copy: the dialer cannot change the claim this process keeps.
    dialing = ctx.dialer.dial({ ...job }, steps.context);
  } catch (err) {
    dialing = Promise.reject(err);
  }
  dialing = dialing.finally(() => steps.answered());
  const told = { jobId, runId, businessId, attempt };
  try {
    const { callId } = await dialing;
    emit(ctx, 'job:dialed', { ...told, durationMs: performance.now() - calledAt, callId });
    return { callId };
  } catch (err) {
    const error = asDialError(err);
    const durationMs = performance.now() - calledAt;
    emit(ctx, 'job:dialed', {
      ...told,
      durationMs,
      errorCode: dialFailureCode(error),
      errorKind: error.kind,
    });
    return { error };
  }
}
