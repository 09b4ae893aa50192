import type { DialContext, DialResult } from '../dialer/dialer.js';
import type { DialError } from '../errors.js';
import { ValidationError } from '../errors.js';
import type { ReleaseResult } from '../limiter/slot-limiter.js';
import type { ClaimedJob, JobRoute } from '../store/job-store.js';
import { isTerminal } from '../store/job-transitions.js';
import { type CallEvent, LIVE_JOB_STATUSES } from '../types.js';
import { jobStatusOfCall } from './call-status.js';
import { classifyDialFailure } from './dial-failure.js';
import { ForeignLimiterState } from './foreign-limiter-state.js';
import { explainIgnoredEvent } from './ignored-event.js';
import { emit, type QueueContext } from './queue-context.js';
import { SlotHandOff } from './slot-hand-off.js';
import { SlotWaiters } from './slot-waiters.js';
import { throughOutage } from './through-outage.js';

/** Dial starts under `dialsPerSecond` are spaced this much wider than 1/rate, for network jitter. */
const DIAL_SPACING_FACTOR = 1.1;

/** A slot just granted: the key's counters for the logs, and what the claim must check. */
export interface GrantedSlot {
  /** Slots held after the grant. */
  active: number;
  /** The business's limit. */
  limit: number;
  /** The limiter key's fencing token that came with the grant (limiters that can lose state). */
  fence?: number;
  /** When the grant was asked for (`ctx.now()` before the acquire or release call). */
  askedAt: number;
}

/**
 * Frees a job's slot that its dialer's end report already asked the limiter to free, and hands it
 * on: the limiter's answer, or undefined when that release failed (the caller releases again).
 */
export type SlotRelease = () => Promise<ReleaseResult | undefined>;

/** What the dispatcher tells the queue about. */
export interface DispatchHooks {
  /** A job reached a terminal status and its slot was released. */
  jobEnded(job: JobRoute, release: ReleaseResult): void;
  /** A job went back to waiting for a retry at `notBefore`. */
  jobRequeued(runId: string, notBefore: number): void;
  /** The dialer cannot place calls for this run (bad credentials). */
  runBlocked(runId: string, error: DialError): Promise<void>;
}

/**
 * Places calls for jobs that hold slots, applies call events, and hands each freed slot to the
 * next waiting job in the same step. The database claim (a compare-and-set that writes a fresh
 * lock token) is what makes a dial happen at most once; the limiter only gates concurrency.
 */
export class Dispatcher {
  /** Frees slots and hands them on: promoted jobs are dialed here. */
  private readonly slots: SlotHandOff;
  /** Slots this process holds (job id -> limiter key), renewed by the reconciler. */
  readonly holdings: Map<string, string>;
  /** Feeders waiting for a hand-off. */
  readonly waiters: SlotWaiters;
  /** Runs stopped by this process: a claim of theirs is never dialed. */
  readonly stoppedRuns = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  /** This process's claims whose call is not placed yet. */
  private readonly preDial = new Set<Promise<void>>();
  /** Jobs whose `dial()` has not returned yet. */
  private readonly dialing = new Set<string>();
  /** Jobs handed a slot whose claim has not been answered yet. */
  private readonly claiming = new Set<string>();
  /** Replaces a limiter state made with another database, found by a refused claim. */
  private readonly foreignState: ForeignLimiterState;
  private closed = false;
  /** Grants waiting for their dial-start turn (`dialsPerSecond`): ended early by close(). */
  private readonly turnWaits = new Set<() => void>();

  /**
   * @param ctx - the queue's shared adapters and settings
   * @param hooks - callbacks into the queue
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly hooks: DispatchHooks,
  ) {
    this.slots = new SlotHandOff(ctx, (key, jobId, slot) => this.dialHeld(key, jobId, slot));
    this.holdings = this.slots.holdings;
    this.waiters = new SlotWaiters(ctx.clock);
    this.foreignState = new ForeignLimiterState(ctx);
  }

  /**
   * Stops placing calls here. Events are still applied and slots released; a job handed a slot
   * from now on keeps it until its lease runs out and a live process's reconciler dials it.
   */
  close(): void {
    this.closed = true;
    for (const cancel of [...this.turnWaits]) cancel();
  }

  /** Resolves when every dial started by this process has returned. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Dials a job that holds a slot of `key`, in the background.
   * @param key - limiter key (business id)
   * @param jobId - the job granted the slot
   * @param slot - the grant: counters for the logs, fencing token, when it was asked for
   */
  dialHeld(key: string, jobId: string, slot: GrantedSlot): void {
    if (this.closed) return;
    const task = this.claimAndDial(key, jobId, slot).catch((err) => this.reportFailure(err, key, jobId));
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async claimAndDial(key: string, jobId: string, slot: GrantedSlot): Promise<void> {
    const { ctx } = this;
    this.claiming.add(jobId);
    // Held (and so renewed) from the grant on: a grant waiting its dial turn for longer than a
    // lease must not expire and be granted again while its claim is pending.
    this.holdings.set(jobId, key);
    let placed!: () => void;
    const beforeDial = new Promise<void>((resolve) => {
      placed = resolve;
    });
    try {
      if (ctx.dialsPerSecond !== undefined) {
        // Spaced before the claim, so that the claim (which checks the run is still running) is
        // the last word before dial(), however long the wait; and 10% wider than 1/rate, so that
        // up to 100 ms of jitter cannot put one start too many into the provider's second.
        const waitMs = await ctx.limiter.reserveDialStart('dial', ctx.dialsPerSecond / DIAL_SPACING_FACTOR);
        if (waitMs > 0 && !(await this.dialTurn(waitMs))) {
          // Closed while waiting: the grant goes back unused (claimed elsewhere once handed on).
          await this.releaseSlot(key, jobId, slot.fence);
          return;
        }
      }
      this.preDial.add(beforeDial);
      const job = await ctx.store.claimJob(jobId, ctx.newId(), ctx.now(), slot.fence);
      this.claiming.delete(jobId);
      if (!job) {
        // Not queued any more (done, canceled), its run is not running, or the limiter's state was
        // rebuilt since the grant (stale fence; the job stays queued and is offered again): pass
        // the slot on. With the grant's fence: a slot of a state since rebuilt is not in the new
        // one, where the job's feeder may already have acquired it again.
        placed();
        // A grant's fence ahead of the database's: a limiter state made with another database.
        await this.foreignState.claimRefused(key, jobId, slot);
        // Claimed by another holder (its slot was granted twice): the slot is theirs, keep off it.
        if (await this.claimedElsewhere(jobId)) this.holdings.delete(jobId);
        else await this.releaseSlot(key, jobId, slot.fence);
        return;
      }
      await this.dialClaimed(key, job, slot, placed);
    } finally {
      this.claiming.delete(jobId);
      placed();
      this.preDial.delete(beforeDial);
    }
  }

  /**
   * Waits `ms` for a dial-start turn; {@link Dispatcher.close} ends the wait early.
   * @returns false when the dispatcher closed meanwhile
   */
  private dialTurn(ms: number): Promise<boolean> {
    const { clock } = this.ctx;
    return new Promise((resolve) => {
      const finish = (due: boolean) => {
        clock.clearTimeout(timer);
        this.turnWaits.delete(cancel);
        resolve(due && !this.closed);
      };
      const cancel = () => finish(false);
      const timer = clock.setTimeout(() => finish(true), ms);
      this.turnWaits.add(cancel);
    });
  }

  /** Whether a claim other than this process's holds the job (it reads dialing or later, not terminal). */
  private async claimedElsewhere(jobId: string): Promise<boolean> {
    const job = await this.ctx.store.getJobRoute(jobId);
    return job !== undefined && LIVE_JOB_STATUSES.includes(job.status);
  }

  /**
   * Resolves when every claim this process has started has either placed its call or given up.
   * `stop()` waits for this after the run reads `stopped`: a claim started later fails (the run is
   * not running), and one started earlier sees the stop before dialing. So no call of a stopped
   * run is placed by this process after `stop()` resolves.
   */
  async settleClaims(): Promise<void> {
    await Promise.all([...this.preDial]);
  }

  /**
   * Whether this process is claiming the job: it was handed a slot here and may still read as
   * queued (the claim is being written), so it must not be offered to the limiter again.
   */
  isClaiming(jobId: string): boolean {
    return this.claiming.has(jobId);
  }

  /** Whether `dial()` of this job is still running in this process. */
  isDialing(jobId: string): boolean {
    return this.dialing.has(jobId);
  }

  private async dialClaimed(
    key: string,
    job: ClaimedJob,
    slot: GrantedSlot,
    placed: () => void,
  ): Promise<void> {
    const { ctx } = this;
    if (this.stoppedRuns.has(job.runId)) {
      await this.finishClaim(job, 'canceled', 'RUN_STOPPED', 'run stopped before the call was placed');
      return;
    }
    const { jobId, runId } = job;
    // A claim that presented the grant's fence proves the limiter's state was not rebuilt since
    // the grant. The lease is the other way to lose a slot: past half of it (a stalled process,
    // a long dial-spacing wait) the slot is confirmed in the limiter before dialing; a job that
    // lost it goes back in line, never dialed beyond the limit.
    if (ctx.now() - slot.askedAt >= ctx.leaseMs / 2 && !(await this.confirmSlot(key, jobId))) {
      await this.putBack(key, job);
      return;
    }
    const { active, limit } = slot;
    emit(ctx, 'job:dialing', { jobId, runId, businessId: key, attempt: job.attempt, active, limit });
    let dialing: Promise<DialResult>;
    this.dialing.add(jobId);
    try {
      // A copy: the dialer cannot change the claim this process keeps.
      dialing = ctx.dialer.dial({ ...job }, this.dialContext(key, job));
    } catch (err) {
      dialing = Promise.reject(err);
    }
    placed();
    let callId: string;
    try {
      ({ callId } = await dialing);
    } catch (err) {
      await this.dialFailed(key, job, err);
      return;
    } finally {
      this.dialing.delete(jobId);
    }
    if (!(await ctx.store.recordDialed(jobId, job.lockToken, callId, ctx.now()))) {
      // The token changed under us: the reconciler or a stop took the job over. A real conflict.
      const error = new Error(`Lock token mismatch for job ${jobId}: call ${callId} may be a duplicate`);
      ctx.logger.error(
        { business_id: key, job_id: jobId, run_id: runId, call_id: callId },
        'OUTBOUND_LOCK_CONFLICT',
      );
      emit(ctx, 'error', error);
    }
  }

  /** Renews the slot of `jobId`: whether it still holds one (false too when the limiter is unreachable). */
  private async confirmSlot(key: string, jobId: string): Promise<boolean> {
    try {
      return (await this.ctx.limiter.renew(key, [jobId], this.ctx.leaseMs)).length === 0;
    } catch (err) {
      this.ctx.logger.warn({ err, business_id: key, job_id: jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      return false;
    }
  }

  /**
   * How an in-process dialer reports progress on the call of `job`. Its events have no provider
   * to send them again, so a backend outage is retried here a few times; after that the reconciler
   * asks `fetchCall`. The report that ends this very call (its claim's lock token, its slot still
   * held here) frees the slot in the limiter while the end is written, but the freed slot is handed
   * on only once the end is written: the next job's claim never reaches the database before this
   * end, so no read counts more live calls than the limit, and `job:ended` comes before the next
   * `job:dialing`.
   */
  private dialContext(key: string, job: ClaimedJob): DialContext {
    return {
      report: async (event) => {
        const status = event?.jobId === job.jobId ? jobStatusOfCall(event.status) : undefined;
        const ownEnd =
          status !== undefined &&
          isTerminal(status) &&
          event.lockToken === job.lockToken &&
          this.holdings.get(job.jobId) === key;
        if (!ownEnd) {
          await throughOutage(this.ctx, event.jobId, () => this.applyEvent(event));
          return;
        }
        const freeing = this.slots.free(key, job.jobId);
        let handedOn = false;
        const handOn = async () => {
          if (handedOn) return undefined;
          handedOn = true;
          const freed = await freeing;
          if (freed) this.slots.handOn(key, job.jobId, freed);
          return freed?.result;
        };
        try {
          await throughOutage(this.ctx, event.jobId, () => this.applyEvent(event, handOn));
        } finally {
          // Not ended here (another writer won, or the database stayed unreachable): the call is
          // over and its slot free all the same, so the jobs promoted into it are dialed.
          await handOn();
        }
      },
    };
  }

  private async dialFailed(key: string, job: ClaimedJob, err: unknown): Promise<void> {
    const { ctx } = this;
    const { error, code, retryAt } = classifyDialFailure(err, job, ctx.retry, ctx.now());
    const back = { code, message: error.message };
    const fields = { business_id: key, job_id: job.jobId, run_id: job.runId, code, kind: error.kind };
    const requeue = async (at: number) => {
      if (!(await ctx.store.requeueJob(job.jobId, job.lockToken, at, back, ctx.now()))) return false;
      this.attemptEnded(job);
      await this.releaseSlot(key, job.jobId);
      return true;
    };
    if (retryAt !== undefined) {
      ctx.logger.warn(
        { ...fields, err: error.message, retry_in_ms: retryAt - ctx.now() },
        'OUTBOUND_DIAL_RETRY',
      );
      if (await requeue(retryAt)) {
        this.hooks.jobRequeued(job.runId, retryAt);
        return;
      }
    }
    if (error.kind === 'fatal') {
      ctx.logger.error({ ...fields, err: error.message }, 'OUTBOUND_DIALER_UNAVAILABLE');
      const requeued = await requeue(ctx.now());
      await this.hooks.runBlocked(job.runId, error);
      if (requeued) return;
    }
    // Permanent, out of attempts, or its run was stopped meanwhile (then it is not put back).
    ctx.logger.warn({ ...fields, err: error.message }, 'OUTBOUND_DIAL_FAILED');
    await this.finishClaim(job, 'failed', code, error.message);
  }

  /** A dialed job went back to `queued` for a retry: its attempt ended, before its slot is handed on. */
  private attemptEnded(job: ClaimedJob): void {
    const { jobId, runId, businessId } = job;
    emit(this.ctx, 'job:ended', { jobId, runId, businessId, status: 'queued', final: false });
  }

  /**
   * Returns a claimed job to the line before its call was placed (its slot could not be
   * confirmed). Retried through a short outage; should every try fail, the claim's lease runs out
   * and the reconciler ends it, since nobody can then prove it was not dialed.
   */
  private async putBack(key: string, job: ClaimedJob): Promise<void> {
    const { ctx } = this;
    this.holdings.delete(job.jobId);
    ctx.logger.warn({ business_id: key, job_id: job.jobId, run_id: job.runId }, 'OUTBOUND_SLOT_LOST');
    const back = { code: 'SLOT_LOST', message: 'the slot could not be confirmed before the call' };
    // It may still hold the slot (the check failed, not the slot): free it, or let it expire.
    // Freed while the job is still claimed, so that nobody can acquire it anew in between.
    await this.releaseSlot(key, job.jobId).catch((err: unknown) => {
      ctx.logger.warn({ err, business_id: key, job_id: job.jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    });
    await throughOutage(ctx, job.jobId, async () => {
      if (await ctx.store.requeueJob(job.jobId, job.lockToken, ctx.now(), back, ctx.now())) {
        this.hooks.jobRequeued(job.runId, ctx.now());
      } else {
        await this.finishClaim(job, 'canceled', 'RUN_STOPPED', 'run stopped before the call was placed');
      }
    });
  }

  /** Ends a claimed job without a call and frees its slot. */
  private async finishClaim(job: ClaimedJob, status: 'failed' | 'canceled', code: string, message: string) {
    const done = await this.ctx.store.transition(
      { jobId: job.jobId, lockToken: job.lockToken, status, errorCode: code, errorMessage: message },
      this.ctx.now(),
    );
    if (done) await this.ended(done);
  }

  /**
   * Applies a call event from a dialer or a webhook. Only an event that carries the job's lock
   * token (or its call id) and moves the job forward changes anything.
   * @param release - frees the job's slot, when its dialer's report already asked the limiter
   * @returns whether the event changed the job
   */
  async applyEvent(event: CallEvent, release?: SlotRelease): Promise<boolean> {
    const status = jobStatusOfCall(event?.status);
    if (!event || typeof event.jobId !== 'string' || status === undefined) {
      throw new ValidationError([{ field: 'event', message: 'needs a jobId and a known call status' }]);
    }
    const job = await this.ctx.store.transition(
      {
        jobId: event.jobId,
        lockToken: event.lockToken,
        callId: event.callId,
        status,
        errorCode: event.errorCode,
        errorMessage: event.errorMessage,
        durationSec: event.durationSec,
        answeredBy: event.answeredBy,
      },
      this.ctx.now(),
    );
    if (!job) {
      await explainIgnoredEvent(this.ctx, event);
      return false;
    }
    if (isTerminal(job.status)) await this.ended(job, release);
    return true;
  }

  /**
   * A job just became terminal (this process won that write): tell it, then free its slot exactly
   * once and hand it on.
   * @param release - frees the slot when its dialer's report already asked the limiter; falls
   *   back to a release here when that failed
   */
  async ended(job: JobRoute, release?: SlotRelease): Promise<void> {
    emit(this.ctx, 'job:ended', {
      jobId: job.jobId,
      runId: job.runId,
      businessId: job.businessId,
      status: job.status,
      final: true,
    });
    const result = (await release?.()) ?? (await this.releaseSlot(job.businessId, job.jobId));
    this.hooks.jobEnded(job, result);
  }

  /**
   * Frees the slot of `jobId` and dials every job promoted into the freed slots, at once.
   * @returns the limiter's answer
   */
  releaseSlot(key: string, jobId: string, fence?: number): Promise<ReleaseResult> {
    return this.slots.release(key, jobId, fence);
  }

  private reportFailure(err: unknown, key: string, jobId: string): void {
    this.ctx.logger.error({ err, business_id: key, job_id: jobId }, 'OUTBOUND_DISPATCH_FAILED');
    emit(this.ctx, 'error', err instanceof Error ? err : new Error(String(err)));
  }
}
