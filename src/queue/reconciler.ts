import type { JobRoute, RunRecord } from '../store/job-store.js';
import { isTerminal } from '../store/job-transitions.js';
import { type JobStatus, LIVE_JOB_STATUSES } from '../types.js';
import { unconfirmedGrant } from './attempts.js';
import { jobStatusOfCall } from './call-status.js';
import type { Dispatcher } from './dispatcher.js';
import type { QueueContext } from './queue-context.js';

/** Runs adopted per tick at most, so one process does not grab a whole backlog at once. */
const MAX_ADOPT_PER_TICK = 100;
/** Jobs of a stopped run read per page when its unplaced claims are ended. */
const ABANDON_PAGE = 1000;
/** Silent calls looked at per tick. */
const SILENT_BATCH = 50;

/**
 * The slow safety net, one tick every third of a lease: keeps this process's run ownership and
 * slot leases alive, adopts runs whose owner died, and resolves slots whose holder died and calls
 * whose events were lost. Nothing on the hot path waits for it. It touches Redis only for the
 * businesses this process owns runs of or holds slots in: an idle process sends nothing.
 */
export class Reconciler {
  /**
   * @param ctx - the queue's shared adapters and settings
   * @param dispatcher - holds this process's slots and applies outcomes
   * @param ownRuns - told which runs this process owns after each lease renewal
   * @param silentCallMs - a live job with no event for this long is checked with the provider
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly dispatcher: Dispatcher,
    private readonly ownRuns: (runs: RunRecord[]) => void,
    private readonly silentCallMs: number,
  ) {}

  /** The businesses of the runs this process owned at the last renewal. */
  private ownedKeys = new Set<string>();

  /**
   * Renews what this process holds: its run ownership (adopting orphaned runs when it dispatches)
   * and its slots' leases. On a loop of its own, so that a slow provider in {@link Reconciler.reconcile}
   * never delays a renewal past the lease.
   * @param dispatching - whether this process called `start()` (owns and adopts runs)
   */
  async renew(dispatching: boolean): Promise<void> {
    const { ctx } = this;
    try {
      if (dispatching) {
        const now = ctx.now();
        const runs = await ctx.store.leaseRuns(ctx.processId, now, now + ctx.leaseMs, MAX_ADOPT_PER_TICK);
        const scopes = await Promise.all(
          [...new Set(runs.map((r) => r.businessId))].map((b) => ctx.businesses.view(b)),
        );
        this.ownedKeys = new Set(scopes.map((view) => view.scope));
        this.ownRuns(runs);
      }
    } finally {
      // The slots' leases live in the limiter: a database outage must not let them run out.
      await this.renewHoldings();
    }
  }

  /**
   * Resolves what others left behind: slots whose lease expired in the businesses this process
   * owns runs of or holds slots in, and live calls silent for `silentCallMs`.
   */
  async reconcile(): Promise<void> {
    const { ctx } = this;
    const keys = new Set([...this.ownedKeys, ...this.dispatcher.attempts.held().values()]);
    for (const key of keys) {
      await this.isolated(key, async () => {
        for (const jobId of await ctx.limiter.reclaim(key, ctx.leaseMs)) {
          await this.isolated(key, () => this.resolveExpired(key, jobId));
        }
      });
    }
    for (const job of await ctx.store.silentJobs(ctx.now() - this.silentCallMs, SILENT_BATCH)) {
      await this.isolated(job.businessId, async () =>
        this.resolveLive((await ctx.businesses.view(job.businessId)).scope, job),
      );
    }
  }

  /**
   * Ends the claims of a stopped run that still read `dialing` without a call id, once `stop()`
   * waited two leases for them: their process died or stalled before `dial()` (a live one reads
   * the run again before dialing, and finds it stopped). Ended `failed` / `DIAL_OUTCOME_UNKNOWN`
   * under a new token, so that no late write of theirs counts, and their slots are freed (an
   * unknown outcome still being resolved too: the stop's promise comes first). A `dial()` this
   * process awaits is left.
   */
  async abandonUnplaced(runId: string): Promise<void> {
    const { store } = this.ctx;
    let after: string | undefined;
    for (;;) {
      const page = await store.listJobs(runId, { status: 'dialing', limit: ABANDON_PAGE, after });
      for (const { jobId, callId } of page) {
        // A dial() of this process whose answer is awaited is left alone: it is placing the call.
        if (callId !== undefined || this.dispatcher.attempts.awaitsAnswer(jobId)) continue;
        const route = await store.getJobRoute(jobId);
        if (route?.status === 'dialing' && route.callId === undefined)
          await this.fail(
            route,
            'DIAL_OUTCOME_UNKNOWN',
            'the run was stopped before the claim placed its call',
          );
      }
      if (page.length < ABANDON_PAGE) return;
      after = page[page.length - 1]?.jobId;
    }
  }

  /** One business's trouble (a provider that fails `fetchCall`, say) must not hold up the others. */
  private async isolated(key: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.ctx.logger.warn({ err, business_id: key }, 'OUTBOUND_RECONCILE_FAILED');
    }
  }

  /**
   * Renews this process's slots, but first frees those whose job the database says ended: the
   * process that applied the end may have failed to free the slot (Redis unreachable, a crash
   * between the two writes), and renewing it forever would stall the business.
   */
  private async renewHoldings(): Promise<void> {
    const { attempts } = this.dispatcher;
    const holdings = attempts.held();
    // The attempts placed before the read: only those are judged by what it found (one granted
    // then may have placed its call since, and the read saw its job still queued).
    const placedBefore = new Set(
      [...holdings.keys()].map((jobId) => attempts.get(jobId)).filter((a) => a?.phase === 'placed'),
    );
    const offCall = await this.ctx.store.jobsOffCall([...holdings.keys()]).catch((err: unknown) => {
      this.ctx.logger.warn({ err }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      return { ended: [], queued: [] };
    });
    for (const jobId of offCall.queued) {
      // A placed call's job back in line: another process wrote its end and put the job back for
      // a retry (or this one did and lost the answer). Renewed no more: the slot runs out for the
      // reconciler, unless a new grant holds it (the limiter names slots by job, not by attempt,
      // so freeing it here could free that grant's).
      const attempt = attempts.get(jobId);
      if (attempt !== undefined && placedBefore.has(attempt) && attempt.phase === 'placed') {
        attempts.lost(jobId);
        holdings.delete(jobId);
      }
    }
    for (const jobId of offCall.ended) {
      const key = holdings.get(jobId);
      // A grant whose claim is under way frees its own slot when the claim fails, and only once
      // the end it may follow is written (a slot passed on before its end was).
      if (key !== undefined && !attempts.isClaiming(jobId))
        await this.isolated(key, async () => void (await this.dispatcher.releaseSlot(key, jobId)));
    }
    const byKey = new Map<string, string[]>();
    for (const [jobId, key] of holdings) {
      const jobIds = byKey.get(key);
      if (jobIds) jobIds.push(jobId);
      else byKey.set(key, [jobId]);
    }
    for (const [key, jobIds] of byKey) {
      for (const lost of await this.ctx.limiter.renew(key, jobIds, this.ctx.leaseMs)) attempts.lost(lost);
    }
  }

  /** A slot whose holder stopped renewing it: find out from the database what became of its job. */
  private async resolveExpired(key: string, jobId: string): Promise<void> {
    const job = await this.ctx.store.getJobRoute(jobId);
    this.ctx.logger.warn({ business_id: key, job_id: jobId, status: job?.status }, 'OUTBOUND_SLOT_EXPIRED');
    if (!job || isTerminal(job.status)) {
      await this.dispatcher.releaseSlot(key, jobId);
    } else if (job.status === 'queued' && this.dispatcher.attempts.isClaiming(jobId)) {
      // Granted here and waiting its dial turn: still ours (renewed from now on).
      this.dispatcher.attempts.hold(key, jobId);
    } else if (job.status === 'queued' && (await this.followsLiveEnd(key, jobId))) {
      // Passed a slot whose call's end is not written yet (its holder died, or lost Redis for a
      // lease): that end first. Reclaim reported that job just before this one and resolved it if
      // it could; the reclaim extended this slot by a lease, so it is asked again then.
      return;
    } else if (job.status === 'queued') {
      // Handed a slot by a process that died before claiming it: the slot is still its own.
      // No fencing token comes with it, so the database's is read first and the slot confirmed
      // after: the claim presents that token, and a rebuild of the limiter's state since (which
      // dropped the slot of this queued job and may have granted it again) makes the claim fail,
      // instead of the database showing one live job more than the limit. Asked "long ago", so
      // the slot is confirmed again before the call.
      const fence = await this.ctx.store.slotFence(job.businessId);
      if ((await this.ctx.limiter.renew(key, [jobId], this.ctx.leaseMs)).length > 0) return;
      const grant = unconfirmedGrant(fence > 0 ? fence : undefined);
      this.dispatcher.dialHeld(key, jobId, { ...grant, business: job.businessId });
    } else {
      await this.resolveLive(key, job);
    }
  }

  /** Whether `jobId` was passed the slot of a job the database still counts live (seed 1168 of issue 12). */
  private async followsLiveEnd(key: string, jobId: string): Promise<boolean> {
    const from = await this.ctx.limiter.passedFrom?.(key, jobId);
    if (from === undefined) return false;
    const before = await this.ctx.store.getJobRoute(from);
    // Live, not merely unfinished: a job put back for a retry had its end written.
    return before !== undefined && LIVE_JOB_STATUSES.includes(before.status);
  }

  /**
   * A claimed job whose holder is gone or whose call went silent. Never dials again: it asks the
   * provider, or ends the job when nobody can tell what became of the call.
   */
  private async resolveLive(key: string, job: JobRoute): Promise<void> {
    const { ctx } = this;
    if (job.callId !== undefined && ctx.dialer.fetchCall) {
      const state = await ctx.dialer.fetchCall(job.callId);
      const status = state && jobStatusOfCall(state.status);
      if (state && status && isTerminal(status)) {
        await this.dispatcher.applyEvent({
          ...state,
          jobId: job.jobId,
          callId: job.callId,
          lockToken: job.lockToken,
        });
        return;
      }
      if (state) {
        await this.hold(key, job);
        return;
      }
      await this.fail(job, 'CALL_NOT_FOUND', 'the provider does not know the call');
      return;
    }
    if (job.callId === undefined) {
      // Unless it is our own dial() that has not returned yet: resolved as an unknown outcome
      // (the call may be live), its slot held here meanwhile.
      if (!this.dispatcher.attempts.isDialing(job.jobId)) this.dispatcher.resolveUnplaced(key, job);
      return;
    }
    if (ctx.now() - job.updatedAt >= this.silentCallMs) {
      await this.fail(job, 'CALL_LOST', 'no event for the call and the dialer cannot be asked');
      return;
    }
    await this.hold(key, job);
  }

  /** The call is still live: this process now holds (and renews) its slot. */
  private async hold(key: string, job: JobRoute): Promise<void> {
    this.dispatcher.attempts.hold(key, job.jobId);
    await this.ctx.limiter.renew(key, [job.jobId], this.ctx.leaseMs);
    await this.ctx.store.touchJob(job.jobId, this.ctx.now());
  }

  private async fail(job: JobRoute, code: string, message: string): Promise<void> {
    const status: JobStatus = 'failed';
    this.ctx.logger.warn({ business_id: job.businessId, job_id: job.jobId, code }, 'OUTBOUND_JOB_ABANDONED');
    const ended = await this.ctx.store.transition(
      {
        jobId: job.jobId,
        lockToken: job.lockToken,
        callId: job.callId,
        status,
        errorCode: code,
        errorMessage: message,
        newLockToken: this.ctx.newId(),
      },
      this.ctx.now(),
    );
    // Nothing changed: another process resolved the job first, which is fine.
    if (ended) await this.dispatcher.ended(ended);
  }
}
