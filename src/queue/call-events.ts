import { ValidationError } from '../errors.js';
import type { JobRoute, JobTransition } from '../store/job-store.js';
import { isTerminal } from '../store/job-transitions.js';
import type { CallEvent } from '../types.js';
import type { Attempts } from './attempts.js';
import { jobStatusOfCall } from './call-status.js';
import { explainIgnoredEvent } from './ignored-event.js';
import { emit, type QueueContext } from './queue-context.js';
import type { AttemptOf, OutcomeRetries } from './retry-rules.js';

/** Applies call events (a dialer's reports, a host's webhooks) to the jobs they are about. */
export class CallEvents {
  /**
   * @param ctx - the queue's store, clock and logger
   * @param attempts - this process's attempts: whose `dial()` answer is awaited here
   * @param ended - frees the slot of a job an event ended, and hands it on (from when the event
   *   arrived, `performance.now()`: the hand-off's start)
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly attempts: Attempts,
    private readonly ended: (job: JobRoute, arrivedAt: number) => Promise<void>,
    private readonly retries: OutcomeRetries,
  ) {}

  /**
   * Applies a call event from a dialer or a webhook. Only an event that carries the job's lock
   * token (or its call id) and moves the job forward changes anything.
   * @param claim - the job's run and attempt, when this process holds its claim
   * @returns whether the event changed the job
   */
  async apply(event: CallEvent, claim?: AttemptOf): Promise<boolean> {
    const arrivedAt = performance.now();
    const job = await this.write(event, claim, arrivedAt);
    if (job === false) return false;
    // Terminal, or back in line for a retry: the attempt ended either way.
    if (job && (isTerminal(job.status) || job.status === 'queued')) await this.ended(job, arrivedAt);
    return true;
  }

  /**
   * Writes a call event as {@link CallEvents.apply} does, without freeing the slot of a job it
   * ended. Tells of it (`call:event`) once written.
   * @param claim - the job's run and attempt, when this process holds its claim
   * @param arrivedAt - when the event reached the queue (`performance.now()`; default now)
   * @returns the job it moved (`queued` when put back for a retry of the outcome), undefined when
   *   it only recorded a call id, false when it changed nothing
   */
  async write(
    event: CallEvent,
    claim?: AttemptOf,
    arrivedAt = performance.now(),
  ): Promise<JobRoute | undefined | false> {
    // Called in this turn: an end decided without a promise goes to the store in it.
    const job = await this.writeEvent(event, claim);
    const runId = job ? job.runId : (claim ?? this.attempts.claimOf(event.jobId))?.runId;
    const ended =
      job && event.durationSec !== undefined && (isTerminal(job.status) || job.status === 'queued');
    emit(this.ctx, 'call:event', {
      jobId: event.jobId,
      ...(runId !== undefined && { runId }),
      ...(job && { businessId: job.businessId }),
      status: event.status,
      result: job === false ? 'ignored' : 'applied',
      durationMs: performance.now() - arrivedAt,
      ...(ended && { callDurationSec: event.durationSec }),
    });
    return job;
  }

  /** Writes a call event (see {@link CallEvents.write}), silently. */
  private async writeEvent(event: CallEvent, claim?: AttemptOf): Promise<JobRoute | undefined | false> {
    const status = jobStatusOfCall(event?.status);
    if (!event || typeof event.jobId !== 'string' || status === undefined) {
      throw new ValidationError([{ field: 'event', message: 'needs a jobId and a known call status' }]);
    }
    // `initiated` moves nothing: a claimed job is `dialing` already. Its call id comes with
    // dial()'s answer, so it costs no statement while this process awaits that answer; otherwise
    // it may be the only word that the call exists.
    if (status === 'dialing') return (await this.adoptInitiated(event)) ? undefined : false;
    const change: JobTransition = {
      jobId: event.jobId,
      lockToken: event.lockToken,
      callId: event.callId,
      status,
      errorCode: event.errorCode,
      errorMessage: event.errorMessage,
      durationSec: event.durationSec,
      answeredBy: event.answeredBy,
    };
    const now = this.ctx.now();
    // Decided without a promise when it can be: the end then goes to the store in this turn. A
    // webhook of a call placed here finds its claim in this process's attempts: no read.
    const known = claim ?? this.attempts.claimOf(event.jobId);
    const decided = isTerminal(status)
      ? this.retries.retryAt(event.jobId, status, event.answeredBy, now, known)
      : undefined;
    const retryAt = decided instanceof Promise ? await decided : decided;
    if (retryAt !== undefined) {
      // Back in line for the next attempt; unless its run stopped meanwhile: then it ends as told.
      const requeued = await this.ctx.store.retryJob(change, retryAt, now);
      if (requeued) {
        this.ctx.logger.info(
          { job_id: event.jobId, run_id: requeued.runId, status, retry_in_ms: retryAt - now },
          'OUTBOUND_OUTCOME_RETRY',
        );
        return requeued;
      }
    }
    const job = await this.ctx.store.transition(change, now);
    if (!job) {
      await explainIgnoredEvent(this.ctx, event);
      return false;
    }
    return job;
  }

  /**
   * An `initiated` event with the claim's token and a call id, for a job with no call id whose
   * `dial()` answer this process does not await: the answer was lost (an unknown outcome, a
   * process that died). The call id is written, so that the call is resolved from the provider
   * and its slot kept, instead of the job ending `DIAL_OUTCOME_UNKNOWN` while the call is live.
   */
  private async adoptInitiated(event: CallEvent): Promise<boolean> {
    const { jobId, lockToken, callId } = event;
    if (lockToken === undefined || callId === undefined) return false;
    // Awaited or recorded here already: the usual case of a webhook after dial() answered.
    const here = this.attempts.get(jobId)?.phase;
    if (this.attempts.awaitsAnswer(jobId) || here === 'placed' || here === 'ending') return false;
    const job = await this.ctx.store.getJobRoute(jobId);
    if (job?.status !== 'dialing' || job.lockToken !== lockToken || job.callId !== undefined) return false;
    return this.ctx.store.recordDialed(jobId, lockToken, callId, this.ctx.now());
  }
}
