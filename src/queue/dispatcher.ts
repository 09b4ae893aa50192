import type { DialContext } from '../dialer/dialer.js';
import { DialError } from '../errors.js';
import type { ReleaseResult } from '../limiter/slot-limiter.js';
import type { ClaimedJob, JobRoute } from '../store/job-store.js';
import { type CallEvent, LIVE_JOB_STATUSES } from '../types.js';
import { type Attempt, Attempts, type GrantedSlot, unconfirmedGrant } from './attempts.js';
import { CallEvents } from './call-events.js';
import { CallingWindows } from './calling-windows.js';
import { claimedElsewhere, claimJob, claimOf, confirmSlot, runStopped } from './claim-job.js';
import { DialSetbacks } from './dial-failure.js';
import { type DialTurn, DialTurns, grantedBusiness, JobAskers } from './dial-turns.js';
import { ForeignLimiterState } from './foreign-limiter-state.js';
import { OwnEnds } from './own-end.js';
import { placeCall } from './place-call.js';
import { emit, type QueueContext } from './queue-context.js';
import { jobEndedEvent } from './queue-events.js';
import { recordCall } from './record-call.js';
import { OutcomeRetries } from './retry-rules.js';
import { SlotHandOff } from './slot-hand-off.js';
import { SlotWaiters } from './slot-waiters.js';
import { throughOutage } from './through-outage.js';
import { UnknownOutcomes } from './unknown-outcome.js';

/** What the dispatcher tells the queue about. */
export interface DispatchHooks {
  /** A job reached a terminal status and its slot was released. */
  jobEnded(job: JobRoute, release: ReleaseResult): void;
  /** A job went back to waiting in line (for a retry, or at once). */
  jobRequeued(runId: string): void;
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
  readonly slots: SlotHandOff;
  /** This process's attempts, one per job: their phases, and the slots held (renewed) for them. */
  readonly attempts = new Attempts();
  /** Feeders waiting for a hand-off. */
  readonly waiters: SlotWaiters;
  /** Decides which ends of calls are retried, by their runs' rules. */
  readonly retries: OutcomeRetries;
  /** The runs' calling windows: jobs outside theirs wait. */
  readonly windows: CallingWindows;
  /** Dials whose outcome is unknown, resolved without dialing again. */
  private readonly outcomes: UnknownOutcomes;
  /** Claims whose dial failed, or whose slot was lost before it. */
  private readonly setbacks: DialSetbacks;
  /** Runs stopped by this process: a claim of theirs is never dialed. */
  readonly stoppedRuns = new Set<string>();
  /**
   * The business of each job a feeder here waits for in a group's line: its promotion's dial
   * takes the business's rates without reading the job (see {@link grantedBusiness}).
   */
  readonly askers = new JobAskers();
  /** Replaces a limiter state made with another database, found by a refused claim. */
  private readonly foreignState: ForeignLimiterState;
  private closed = false;
  /** Whether writes this process alone knows of are kept until written (until close). */
  private readonly isOpen = () => !this.closed;
  /** Dial-start turns, and the waits of this process's dials (ended early by close()). */
  private readonly turns: DialTurns;
  /** Applies call events to the jobs. */
  private readonly events: CallEvents;
  /** Applies the events of this process's own calls: an end passes its slot on. */
  private readonly ownEnds: OwnEnds;

  /**
   * @param ctx - the queue's shared adapters and settings
   * @param hooks - callbacks into the queue
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly hooks: DispatchHooks,
  ) {
    this.retries = new OutcomeRetries(
      async (runId) => (await ctx.store.getRun(runId))?.retry,
      async (jobId) => {
        const route = await ctx.store.getJobRoute(jobId);
        return route && { runId: route.runId, attempt: route.attempt };
      },
    );
    this.slots = new SlotHandOff(ctx, this.attempts, (key, jobId, slot) => this.dialHeld(key, jobId, slot));
    this.waiters = new SlotWaiters(ctx.clock);
    this.windows = new CallingWindows(ctx);
    this.setbacks = new DialSetbacks(ctx, this.retries, this.windows, {
      releaseSlot: (key, jobId) => this.releaseSlot(key, jobId),
      finishClaim: (job, status, code, message) => this.finishClaim(job, status, code, message),
      jobRequeued: (runId) => this.hooks.jobRequeued(runId),
      runBlocked: (runId, error) => this.hooks.runBlocked(runId, error),
      keepWriting: this.isOpen,
    });
    this.outcomes = new UnknownOutcomes(ctx, {
      adopt: async (job, call) => {
        if (!(await this.placed(job, call.callId, this.attempts.get(job.jobId)))) return;
        if (call.status !== 'initiated')
          await this.applyEvent({ ...call, jobId: job.jobId, lockToken: job.lockToken });
      },
      giveUp: (job, message) => this.finishClaim(job, 'failed', 'DIAL_OUTCOME_UNKNOWN', message),
      pause: (ms) => this.turns.pause(ms),
    });
    this.foreignState = new ForeignLimiterState(ctx);
    this.turns = new DialTurns(ctx);
    this.events = new CallEvents(ctx, this.attempts, (job, at) => this.ended(job, at), this.retries);
    this.ownEnds = new OwnEnds(ctx, this.attempts, this.events, this.slots, {
      apply: (event, claim) => this.events.apply(event, claim),
      jobEnded: (job, release) => this.hooks.jobEnded(job, release),
      keepWriting: this.isOpen,
    });
  }

  /**
   * Stops placing calls here. Events are still applied and slots released; a job handed a slot
   * from now on is handed over to the live processes (see {@link Dispatcher.dialHeld}).
   */
  close(): void {
    this.closed = true;
    this.turns.close();
  }

  /** Resolves when every dial started by this process has returned. */
  async drain(): Promise<void> {
    await this.attempts.drain();
  }

  /**
   * Dials a job that holds a slot of `key`, in the background.
   * @param key - limiter scope
   * @param jobId - the job granted the slot
   * @param slot - the grant: counters for the logs, fencing token, when it was asked for
   */
  dialHeld(key: string, jobId: string, slot: GrantedSlot): void {
    if (this.closed) {
      // Not dialed here: a live process waiting for the job dials it in this one's place.
      void this.slots.handOver(key, jobId, slot);
      return;
    }
    this.attempts.grant(key, jobId, (attempt) =>
      this.claimAndDial(attempt, slot).catch((err) => this.reportFailure(err, key, jobId)),
    );
  }

  /**
   * Dials jobs another process promoted into slots and handed over as it closed (see
   * {@link SlotLimiter.handOver}). Every live process tries; the claim lets one of them dial.
   * Asked "long ago", so each slot is confirmed in the limiter before its call.
   * @param key - limiter scope
   * @param jobIds - the jobs handed over
   * @param fence - the fencing token the promotion came with
   */
  takeOver(key: string, jobIds: readonly string[], fence: number | undefined): void {
    for (const jobId of jobIds) this.dialHeld(key, jobId, unconfirmedGrant(fence));
  }

  /**
   * Resolves, in the background, a job that a process which stopped left `dialing` without a call
   * id, as a dial with an unknown outcome: never dialed again. The dialer's `findCall` is asked, a
   * callback with the job's token still adopts the call, and the job ends `DIAL_OUTCOME_UNKNOWN`
   * only after the wait; its slot is held (renewed) here meanwhile, since a call may be live.
   * @param key - the business whose expired slot the job holds
   * @param route - the job as the reconciler read it
   */
  resolveUnplaced(key: string, route: JobRoute): void {
    const { lockToken } = route;
    if (this.closed || lockToken === undefined) return;
    this.attempts.grant(key, route.jobId, async (attempt) => {
      // No dial() here: a callback with the job's token records the call as it comes.
      this.attempts.advance(attempt, 'dialing');
      this.attempts.answered(attempt);
      try {
        const job = await this.ctx.store.getJob(route.jobId);
        if (!job) return;
        const error = new DialError('unknown', 'the dialing process stopped before the call id was recorded');
        await this.resolveUnknown(attempt, claimOf(job, lockToken), route.updatedAt, error);
      } catch (err) {
        this.reportFailure(err, key, route.jobId);
      }
    });
  }

  /** An attempt's work from its grant until its call is placed (or it ends without one). */
  private async claimAndDial(attempt: Attempt, slot: GrantedSlot): Promise<void> {
    const { attempts } = this;
    const { key, jobId } = attempt;
    // The dial-start turn comes before the claim, so that the claim (which checks the run is
    // still running) is the last word before dial(), however long the wait. The attempt is held
    // (renewed) meanwhile: it must not expire and be granted again.
    const turnAt = await this.turns.take(
      key,
      await grantedBusiness(this.ctx, key, jobId, slot, this.askers.take(jobId)),
    );
    if (turnAt === false) {
      // Closed while waiting: the grant goes back unused (claimed elsewhere once handed on),
      // after the end whose slot it took.
      if (!slot.after || (await slot.after.written)) await this.releaseSlot(key, jobId, slot.fence);
      return;
    }
    attempts.advance(attempt, 'claiming');
    const claimedAt = this.ctx.now();
    const job = await claimJob(this.ctx, jobId, slot.fence, this.isOpen, slot.after);
    // The end whose slot this is first: `job:ended` before `job:dialing`. A claim written at all
    // was written with that end or after it. Without one, an end given up leaves the slot to run
    // out, for the reconciler to resolve that end before the job (see resolveExpired).
    const endWritten = slot.after ? await slot.after.written : true;
    if (!job && !endWritten) return;
    if (!job) {
      // Not queued any more (done, canceled), its run is not running, or the limiter's state was
      // rebuilt since the grant (stale fence; the job stays queued and is offered again): pass
      // the slot on. With the grant's fence: a slot of a state since rebuilt is not in the new
      // one, where the job's feeder may already have acquired it again.
      attempts.advance(attempt, 'ending');
      // A grant's fence ahead of the database's: a limiter state made with another database.
      await this.foreignState.claimRefused(
        key,
        jobId,
        await grantedBusiness(this.ctx, key, jobId, slot, this.askers.take(jobId)),
        slot,
      );
      // Claimed by another holder (its slot was granted twice): the slot is theirs, keep off it
      // (this attempt, ending, renews it no more).
      if (!(await claimedElsewhere(this.ctx, jobId))) await this.releaseSlot(key, jobId, slot.fence, attempt);
      return;
    }
    attempts.advance(attempt, 'claimed', job);
    await this.dialClaimed(attempt, job, { ...slot, claimedAt }, turnAt);
  }

  /**
   * Resolves a dial whose outcome is unknown (see {@link UnknownOutcomes}). A callback with the
   * job's token may have recorded the call meanwhile: then the attempt holds its slot until the
   * call's end, as for a call id `dial()` returned.
   */
  private async resolveUnknown(
    attempt: Attempt,
    job: ClaimedJob,
    since: number,
    error: DialError,
  ): Promise<void> {
    await this.outcomes.resolve(job, since, error);
    if (attempt.phase !== 'dialing') return;
    const now = await this.ctx.store.getJobRoute(job.jobId).catch(() => undefined);
    if (
      now?.lockToken === job.lockToken &&
      now.callId !== undefined &&
      LIVE_JOB_STATUSES.includes(now.status)
    )
      this.attempts.advance(attempt, 'placed');
  }

  /**
   * Resolves when every claim of the run made here has either placed its call or given up.
   * `stop()` waits for this after the run reads `stopped`: a claim started later fails (the run is
   * not running), and one started earlier sees the stop before dialing. So no call of a stopped
   * run is placed by this process after `stop()` resolves.
   */
  async settleClaims(runId: string): Promise<void> {
    await this.attempts.settleClaims(runId);
  }

  private async dialClaimed(
    attempt: Attempt,
    job: ClaimedJob,
    slot: GrantedSlot & { claimedAt: number },
    turnAt: DialTurn | undefined,
  ): Promise<void> {
    const { ctx } = this;
    const { key } = attempt;
    const { jobId, runId } = job;
    // A claim that presented the grant's fence proves the limiter's state was not rebuilt since
    // the grant. The lease is the other way to lose a slot: past half of it (a stalled process,
    // a long dial-spacing wait) the slot is confirmed in the limiter before dialing; a job that
    // lost it goes back in line, never dialed beyond the limit. Checked before the turn is kept,
    // so that nothing slow comes between the turn and dial(), and again after a fresh turn's wait.
    // The host's do-not-call check first: it may be slow, and what follows must not wait on it.
    if (!(await this.setbacks.clearedToDial(key, job))) return;
    const slotHeld = () => ctx.now() - slot.askedAt < ctx.leaseMs / 2 || confirmSlot(ctx, key, jobId);
    if (!(await slotHeld())) {
      await this.setbacks.putBack(key, job, 'slot-lost');
      return;
    }
    const turn = await this.turns.keep(turnAt);
    if (turn === 'closed') {
      // Closed while waiting for a fresh turn: back in line, its slot handed over.
      await this.setbacks.putBack(key, job, 'closing');
      return;
    }
    if (turn === 'waited' && !(await slotHeld())) {
      await this.setbacks.putBack(key, job, 'slot-lost');
      return;
    }
    // The last word before dial(), after every wait: this process's stop mark and, for a claim
    // asked for half a lease ago or more (a lost answer recovered after an outage, a fresh dial
    // turn), the run itself: a stop written elsewhere meanwhile waits for this claim two leases at most.
    const old = ctx.now() - slot.claimedAt >= ctx.leaseMs / 2;
    if (this.stoppedRuns.has(runId) || (old && (await runStopped(ctx, runId, this.isOpen)))) {
      await this.finishClaim(job, 'canceled', 'RUN_STOPPED', 'run stopped before the call was placed');
      return;
    }
    if (!(await this.setbacks.insideWindow(key, job))) return;
    const startedAt = ctx.now();
    const answer = await placeCall(ctx, job, slot, {
      dialing: () => this.attempts.advance(attempt, 'dialing'),
      answered: () => this.attempts.answered(attempt),
      context: this.dialContext(attempt, job),
    });
    // Still "dialing" for the reconciler until the outcome is written, however long that takes:
    // the failure handled, the unknown outcome resolved, or the call id recorded.
    if (answer.error === undefined) await this.placed(job, answer.callId, attempt);
    else if (answer.error.kind === 'unknown')
      await this.resolveUnknown(attempt, job, startedAt, answer.error);
    else await this.setbacks.dialFailed(key, job, answer.error);
  }

  /** Writes the call id of a placed call (see {@link recordCall}); the attempt is placed either way. */
  private async placed(job: ClaimedJob, callId: string, attempt: Attempt | undefined): Promise<boolean> {
    const recorded = await recordCall(this.ctx, job, callId, this.isOpen);
    // A conflicting call stays held too, until the renewals' sweep finds its job ended.
    this.attempts.advance(attempt, 'placed');
    return recorded;
  }

  /**
   * How an in-process dialer reports progress on the call `attempt` placed. Its events have no
   * provider to send them again, so this process keeps each until it is written, through an
   * outage of any length while the queue is open. Its end passes the slot on (see {@link OwnEnds}).
   */
  private dialContext(attempt: Attempt, job: ClaimedJob): DialContext {
    return { report: (event) => this.ownEnds.report(attempt, job, event) };
  }

  /**
   * Ends a claimed job without a call and frees its slot. The end is kept until written while the
   * queue is open; a try whose answer was lost leaves the job ended, and the renewal's sweep of
   * ended jobs then frees the slot.
   */
  private async finishClaim(
    job: ClaimedJob,
    status: 'failed' | 'canceled',
    code: string,
    message: string,
  ): Promise<void> {
    let done: JobRoute | undefined;
    await throughOutage(
      this.ctx,
      job.jobId,
      async () => {
        done = await this.ctx.store.transition(
          { jobId: job.jobId, lockToken: job.lockToken, status, errorCode: code, errorMessage: message },
          this.ctx.now(),
        );
      },
      this.isOpen,
    );
    if (done) await this.ended(done);
  }

  /**
   * Applies a call event from a dialer or a webhook (see {@link CallEvents.apply}).
   * @returns whether the event changed the job
   */
  applyEvent(event: CallEvent): Promise<boolean> {
    return this.events.apply(event);
  }

  /**
   * A job's attempt just ended, terminal or back in line for a retry (this process won that
   * write): tell it, then free its slot exactly once and hand it on.
   * @param arrivedAt - when the event that ended it reached this process (`performance.now()`)
   */
  async ended(job: JobRoute, arrivedAt?: number): Promise<void> {
    emit(this.ctx, 'job:ended', jobEndedEvent(job));
    const key = this.attempts.get(job.jobId)?.key ?? (await this.ctx.businesses.view(job.businessId)).scope;
    const result = await this.slots.release(key, job.jobId, undefined, undefined, job.businessId, arrivedAt);
    this.hooks.jobEnded(job, result);
  }

  /**
   * Frees the slot of `jobId` and dials every job promoted into the freed slots, at once.
   * @param key - limiter scope
   * @param jobId - the job whose slot is freed
   * @param fence - the grant's fencing token, for a grant given back unused
   * @param attempt - the attempt that frees it (default: this process's current one on the job)
   * @param businessId - the job's business, when known (logs and events)
   * @returns the limiter's answer
   */
  releaseSlot(
    key: string,
    jobId: string,
    fence?: number,
    attempt?: Attempt,
    businessId?: string,
  ): Promise<ReleaseResult> {
    return this.slots.release(key, jobId, fence, attempt, businessId);
  }

  private reportFailure(err: unknown, key: string, jobId: string): void {
    this.ctx.logger.error({ err, business_id: key, job_id: jobId }, 'OUTBOUND_DISPATCH_FAILED');
    emit(this.ctx, 'error', err instanceof Error ? err : new Error(String(err)));
  }
}
