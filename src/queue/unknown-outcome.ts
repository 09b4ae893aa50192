import type { FoundCall } from '../dialer/dialer.js';
import type { DialError } from '../errors.js';
import type { ClaimedJob } from '../store/job-store.js';
import { isTerminal } from '../store/job-transitions.js';
import { jobStatusOfCall } from './call-status.js';
import type { QueueContext } from './queue-context.js';

/** How many waits a job whose call may be live (an ambiguous match) is kept before it ends. */
const MAX_ROUNDS = 20;
/**
 * The shortest wait for a sign of the call (a found call, a callback with the job's token) before
 * the job is given up. A provider sends a placed call's first callbacks within seconds; until then
 * the slot stays held, since a call may be live.
 */
const MIN_WAIT_MS = 60_000;

/** What the resolution asks of the dispatcher. */
export interface UnknownOutcomeActions {
  /** Records the found call as the job's, as if `dial()` had returned it, and applies its state. */
  adopt(job: ClaimedJob, call: FoundCall): Promise<void>;
  /** Ends the job `failed` / `DIAL_OUTCOME_UNKNOWN` and frees its slot. */
  giveUp(job: ClaimedJob, message: string): Promise<void>;
  /** Waits `ms`; resolves false early when the queue closes. */
  pause(ms: number): Promise<boolean>;
}

/**
 * Resolves a `dial()` that failed with an unknown outcome (the request may have reached the
 * provider): never by dialing again. The claim and its slot are kept; the dialer's `findCall` is
 * asked for the call; meanwhile a call event carrying the job's token adopts the call as usual.
 * After a wait (a minute, or a lease if longer) with no call found and no callback, the job ends
 * `failed` with `DIAL_OUTCOME_UNKNOWN`; its slot is held until then, since a call may be live. A
 * job with several candidate calls, one of which may be live, is kept (its slot counting) until
 * none is.
 */
export class UnknownOutcomes {
  /**
   * @param ctx - the queue's dialer, store, clock and logger
   * @param actions - adopting a found call, giving up
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly actions: UnknownOutcomeActions,
  ) {}

  /**
   * @param job - the claimed job whose dial failed with an unknown outcome
   * @param since - when its `dial()` started (epoch ms)
   * @param error - what `dial()` threw
   */
  async resolve(job: ClaimedJob, since: number, error: DialError): Promise<void> {
    const { ctx } = this;
    ctx.logger.warn(
      {
        business_id: job.businessId,
        job_id: job.jobId,
        run_id: job.runId,
        code: error.providerCode,
        err: error.message,
      },
      'OUTBOUND_DIAL_OUTCOME_UNKNOWN',
    );
    for (let round = 1; ; round++) {
      const found = await this.find(job, since);
      if (found?.match === 'found') {
        await this.actions.adopt(job, found.call);
        return;
      }
      const maybeLive =
        found?.match === 'ambiguous' &&
        found.calls.some((call) => {
          const status = jobStatusOfCall(call.status);
          return status === undefined || !isTerminal(status);
        });
      if (round > 1 && (!maybeLive || round >= MAX_ROUNDS)) {
        await this.actions.giveUp(
          job,
          'the dial failed and the provider cannot tell whether a call was placed',
        );
        return;
      }
      // A status callback carrying the job's token may adopt the call meanwhile.
      // Closed meanwhile: the job stays dialing, for the reconciler of a live process.
      if (!(await this.actions.pause(Math.max(error.retryAfterMs ?? 0, ctx.leaseMs, MIN_WAIT_MS)))) return;
      if (!(await this.stillUnplaced(job))) return;
    }
  }

  /** Asks the dialer for the call; undefined when it cannot tell (no `findCall`, or it failed). */
  private async find(job: ClaimedJob, since: number) {
    const { dialer, logger } = this.ctx;
    if (!dialer.findCall) return undefined;
    try {
      return await dialer.findCall({ ...job }, since);
    } catch (err) {
      logger.warn({ err, business_id: job.businessId, job_id: job.jobId }, 'OUTBOUND_FIND_CALL_FAILED');
      return undefined;
    }
  }

  /** Whether the job is still this claim's, with no call id: nothing adopted or ended it meanwhile. */
  private async stillUnplaced(job: ClaimedJob): Promise<boolean> {
    // Unreadable (an outage): still unplaced as far as anyone here knows; ask again.
    const now = await this.ctx.store
      .getJobRoute(job.jobId)
      .catch(() => ({ ...job, status: 'dialing', callId: undefined }));
    return now?.status === 'dialing' && now.lockToken === job.lockToken && now.callId === undefined;
  }
}
