import { DialError } from '../errors.js';
import type { ReleaseResult } from '../limiter/slot-limiter.js';
import type { ClaimedJob } from '../store/job-store.js';
import type { CallingWindows, WindowVerdict } from './calling-windows.js';
import { emit, type QueueContext, type RetryPolicy } from './queue-context.js';
import { jobEndedEvent } from './queue-events.js';
import type { OutcomeRetries } from './retry-rules.js';
import { askSuppression } from './suppression.js';
import { throughOutage } from './through-outage.js';

/** What to do with a job whose `dial()` threw. */
interface DialFailure {
  /** The failure as a `DialError` (anything else a dialer throws counts as `unknown`). */
  error: DialError;
  /** The code recorded on the job: the provider's, or `DIAL_ERROR` when the dialer gave none. */
  code: string;
  /** When a transient failure with attempts left is to be dialed again (epoch ms); absent otherwise. */
  retryAt?: number;
}

/**
 * A failure of `dial()` as a `DialError`. Anything else a dialer throws says nothing of whether
 * the request reached the provider, so it counts as `unknown`: resolved, never dialed blindly.
 * @returns the error itself, or an `unknown` DialError wrapping it
 */
export function asDialError(err: unknown): DialError {
  if (err instanceof DialError) return err;
  return new DialError('unknown', err instanceof Error ? err.message : String(err), { cause: err });
}

/** The code a dial failure is recorded with: the provider's, or `DIAL_ERROR` when the dialer gave none. */
export function dialFailureCode(error: DialError): string {
  return error.providerCode ?? 'DIAL_ERROR';
}

/**
 * Classifies a dial failure and, for a transient one with attempts left, picks its retry time:
 * exponential backoff with full jitter, never sooner than the provider's `Retry-After`.
 * @param err - what `dial()` threw
 * @param job - the claimed job (its attempt count)
 * @param retry - the queue's retry policy
 * @param now - current time, epoch ms
 * @returns the classified failure
 */
export function classifyDialFailure(
  err: unknown,
  job: ClaimedJob,
  retry: RetryPolicy,
  now: number,
): DialFailure {
  const error = asDialError(err);
  const code = dialFailureCode(error);
  if (error.kind !== 'transient' || job.attempt >= retry.maxAttempts) return { error, code };
  const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (job.attempt - 1));
  const delay = Math.max(error.retryAfterMs ?? 0, Math.round(Math.random() * cap));
  return { error, code, retryAt: now + delay };
}

/** What {@link DialSetbacks} asks of the dispatcher. */
export interface SetbackActions {
  /** Frees the job's slot and hands it on. */
  releaseSlot(key: string, jobId: string): Promise<ReleaseResult>;
  /** Ends the claimed job without a call and frees its slot. */
  finishClaim(job: ClaimedJob, status: 'failed' | 'canceled', code: string, message: string): Promise<void>;
  /** The job waits in line again (for a retry, or at once). */
  jobRequeued(runId: string): void;
  /** The dialer cannot place calls for the run (bad credentials). */
  runBlocked(runId: string, error: DialError): Promise<void>;
  /** Whether a write this process alone knows of is kept until written (the queue is open). */
  keepWriting(): boolean;
}

/**
 * What becomes of a claim whose call was not placed: a dial that failed (retried later, failed
 * for good, or its run paused on a fatal error), or a slot lost before the dial (the job goes
 * back in line). A dial whose outcome is unknown is not handled here: see `UnknownOutcomes`.
 */
export class DialSetbacks {
  /**
   * @param ctx - the queue's store, retry policy, clock and logger
   * @param retries - the runs' rules, for a dial the provider refused for good (`failed`)
   * @param windows - the runs' calling windows, checked before each call
   * @param actions - the dispatcher's part
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly retries: OutcomeRetries,
    private readonly windows: CallingWindows,
    private readonly actions: SetbackActions,
  ) {}

  /** A dial that threw: retried later without a slot, or ended, as the failure's kind says. */
  async dialFailed(key: string, job: ClaimedJob, err: unknown): Promise<void> {
    const { ctx, actions } = this;
    const { error, code, retryAt } = classifyDialFailure(err, job, ctx.retry, ctx.now());
    const back = { code, message: error.message };
    const fields = { business_id: key, job_id: job.jobId, run_id: job.runId, code, kind: error.kind };
    const requeue = (at: number) => this.backInLine(key, job, at, back);
    if (retryAt !== undefined) {
      ctx.logger.warn(
        { ...fields, err: error.message, retry_in_ms: retryAt - ctx.now() },
        'OUTBOUND_DIAL_RETRY',
      );
      if (await requeue(retryAt)) {
        actions.jobRequeued(job.runId);
        return;
      }
    }
    if (error.kind === 'fatal') {
      ctx.logger.error({ ...fields, err: error.message }, 'OUTBOUND_DIALER_UNAVAILABLE');
      const requeued = await requeue(ctx.now());
      await actions.runBlocked(job.runId, error);
      if (requeued) return;
    }
    // Refused for good: its run's `failed` rule may call it again later.
    const outcomeRetry =
      error.kind === 'permanent'
        ? await this.retries.retryAt(job.jobId, 'failed', undefined, ctx.now(), job)
        : undefined;
    if (outcomeRetry !== undefined && (await requeue(outcomeRetry))) {
      ctx.logger.info({ ...fields, retry_in_ms: outcomeRetry - ctx.now() }, 'OUTBOUND_OUTCOME_RETRY');
      actions.jobRequeued(job.runId);
      return;
    }
    // Permanent, out of attempts, or its run was stopped meanwhile (then it is not put back).
    ctx.logger.warn({ ...fields, err: error.message }, 'OUTBOUND_DIAL_FAILED');
    await actions.finishClaim(job, 'failed', code, error.message);
  }

  /**
   * Asks the host's suppression check about a claim. A suppressed job ends `canceled` /
   * `SUPPRESSED` with the reason; one whose check failed goes back in line.
   * @returns whether the job may be dialed
   */
  async clearedToDial(key: string, job: ClaimedJob): Promise<boolean> {
    const { ctx } = this;
    const verdict = await askSuppression(ctx, ctx.suppress, job);
    if (verdict.kind === 'dial') return true;
    if (verdict.kind === 'unavailable') {
      await this.checkUnavailable(key, job, verdict.error);
      return false;
    }
    const fields = { business_id: key, job_id: job.jobId, run_id: job.runId, reason: verdict.reason };
    ctx.logger.info(fields, 'OUTBOUND_SUPPRESSED');
    await this.actions.finishClaim(job, 'canceled', 'SUPPRESSED', verdict.reason);
    return false;
  }

  /**
   * Checks a claim against its run's calling window, as the last word before the call (after
   * every wait: the suppression check, a dial turn): a job that waited past its window's end
   * goes back to wait for the next opening; one whose window never
   * opens again ends `canceled` / `OUTSIDE_WINDOW`. A run that cannot be read to know its window
   * puts the job back for a short while: never dialed unchecked.
   * @returns whether the call may start now
   */
  async insideWindow(key: string, job: ClaimedJob): Promise<boolean> {
    const { ctx, actions } = this;
    let verdict: WindowVerdict | undefined;
    let unread: unknown;
    try {
      verdict = await this.windows.verdict(job);
    } catch (err) {
      unread = err;
    }
    if (verdict?.kind === 'open') return true;
    if (verdict?.kind === 'never') {
      await actions.finishClaim(
        job,
        'canceled',
        'OUTSIDE_WINDOW',
        'its calling window does not open again within a year',
      );
      return false;
    }
    const code = verdict ? 'OUTSIDE_WINDOW' : 'WINDOW_UNREAD';
    const until = verdict ? verdict.until : ctx.now() + this.outageWait(job);
    const message = verdict
      ? `outside its calling window until ${new Date(until).toISOString()}`
      : `its run's calling window could not be read: ${unread instanceof Error ? unread.message : String(unread)}`;
    ctx.logger.info(
      { business_id: key, job_id: job.jobId, run_id: job.runId, code, until: new Date(until) },
      'OUTBOUND_OUTSIDE_WINDOW',
    );
    if (!(await this.backInLine(key, job, until, { code, message }))) {
      await actions.finishClaim(job, 'canceled', 'RUN_STOPPED', 'run stopped before the call was placed');
      return false;
    }
    // Counted as waiting for its window (a label: a failed write changes only how it is counted).
    if (verdict) await ctx.store.deferJobs([{ jobId: job.jobId, until }], ctx.now()).catch(() => {});
    actions.jobRequeued(job.runId);
    return false;
  }

  /**
   * A claim whose suppression check failed: back in line, dialed later once the check answers
   * (never unchecked). The wait doubles with each attempt, as for a transient dial failure.
   */
  private async checkUnavailable(key: string, job: ClaimedJob, err: unknown): Promise<void> {
    const { ctx } = this;
    const waitMs = this.outageWait(job);
    const message = `the suppression check failed: ${err instanceof Error ? err.message : String(err)}`;
    if (await this.backInLine(key, job, ctx.now() + waitMs, { code: 'SUPPRESS_UNAVAILABLE', message })) {
      this.actions.jobRequeued(job.runId);
      return;
    }
    // Its run was stopped meanwhile: it ends without a call.
    await this.actions.finishClaim(job, 'canceled', 'RUN_STOPPED', 'run stopped before the call was placed');
  }

  /**
   * The wait before a claim put back by an outage (its suppression check, its run's window) is
   * tried again: doubling with each attempt, as for a transient dial failure, and at least a
   * second, so that a `retry.baseDelayMs` of 0 does not make a tight loop of claims.
   */
  private outageWait(job: ClaimedJob): number {
    const { retry } = this.ctx;
    const base = Math.max(1000, retry.baseDelayMs);
    return Math.min(Math.max(1000, retry.maxDelayMs), base * 2 ** (job.attempt - 1));
  }

  /**
   * Puts a claimed job back in line from `at`, tells its attempt ended, and frees its slot.
   * @returns whether it is back in line (false: its run was stopped, or it was taken over)
   */
  private async backInLine(
    key: string,
    job: ClaimedJob,
    at: number,
    back: { code: string; message: string },
  ): Promise<boolean> {
    const { ctx, actions } = this;
    if (!(await this.requeued(job, at, back))) return false;
    this.attemptEnded(job);
    await actions.releaseSlot(key, job.jobId).catch((err: unknown) => {
      // Its lease runs out and the reconciler finds the job queued: the slot is not lost.
      ctx.logger.warn({ err, business_id: key, job_id: job.jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    });
    return true;
  }

  /**
   * Puts the claimed job back in line, through an outage while the queue is open. A try whose
   * answer was lost may have been written: a refused try after a failed one asks the job whether
   * it is back in line, without a token, as the requeue leaves it.
   * @returns whether the job is back in line (false: its run was stopped, or it was taken over)
   */
  private async requeued(
    job: ClaimedJob,
    at: number,
    error: { code: string; message: string },
  ): Promise<boolean> {
    const { ctx, actions } = this;
    let done = false;
    let tries = 0;
    await throughOutage(
      ctx,
      job.jobId,
      async () => {
        tries += 1;
        done = await ctx.store.requeueJob(job.jobId, job.lockToken, at, error, ctx.now());
        if (done || tries === 1) return;
        const now = await ctx.store.getJobRoute(job.jobId);
        done = now?.status === 'queued' && now.lockToken === undefined;
      },
      actions.keepWriting,
    );
    return done;
  }

  /**
   * Returns a claimed job to the line before its call was placed (its slot could not be
   * confirmed, or the queue closed while it waited for a dial turn). Retried through a short outage; should every try fail, the claim's lease runs out
   * and the reconciler ends it, since nobody can then prove it was not dialed.
   */
  async putBack(key: string, job: ClaimedJob, why: 'slot-lost' | 'closing'): Promise<void> {
    const { ctx, actions } = this;
    const back =
      why === 'slot-lost'
        ? { code: 'SLOT_LOST', message: 'the slot could not be confirmed before the call' }
        : { code: 'CLOSING', message: 'the queue closed before the call was placed' };
    if (why === 'slot-lost')
      ctx.logger.warn({ business_id: key, job_id: job.jobId, run_id: job.runId }, 'OUTBOUND_SLOT_LOST');
    // It may still hold the slot (the check failed, not the slot): free it, or let it expire.
    // Freed while the job is still claimed, so that nobody can acquire it anew in between.
    await actions.releaseSlot(key, job.jobId).catch((err: unknown) => {
      ctx.logger.warn({ err, business_id: key, job_id: job.jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    });
    await throughOutage(ctx, job.jobId, async () => {
      if (await ctx.store.requeueJob(job.jobId, job.lockToken, ctx.now(), back, ctx.now())) {
        actions.jobRequeued(job.runId);
      } else {
        await actions.finishClaim(job, 'canceled', 'RUN_STOPPED', 'run stopped before the call was placed');
      }
    });
  }

  /** A dialed job went back to `queued` for a retry: its attempt ended, before its slot is handed on. */
  private attemptEnded(job: ClaimedJob): void {
    emit(this.ctx, 'job:ended', jobEndedEvent({ ...job, status: 'queued' }));
  }
}
