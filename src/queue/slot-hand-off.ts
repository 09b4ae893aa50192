import { describeScope } from '../limiter/limiter-scope.js';
import type { ReleaseResult } from '../limiter/slot-limiter.js';
import type { Attempt, Attempts, GrantedSlot, PendingEnd } from './attempts.js';
import { emit, type QueueContext } from './queue-context.js';

/** A slot freed in the limiter, not handed on yet. */
export interface FreedSlot {
  /** The limiter's answer: counters and the jobs promoted into the freed slot. */
  result: ReleaseResult;
  /** When the release was asked for: the promoted grants' age counts from then. */
  askedAt: number;
  /** When the end that freed the slot reached this process (`performance.now()`): the hand-off's start. */
  freedAt: number;
}

/** Keys whose waiting line was last seen empty are remembered up to this many (a hint, dropped whole past it). */
const EMPTY_LINES_KEPT = 10_000;

/**
 * The release that frees a slot and hands it on to the jobs the limiter promoted in the same
 * step (dialed here at once, through `dial`), and the pass that does so before the end of the
 * slot's call is written.
 */
export class SlotHandOff {
  /** Keys whose waiting line the limiter last answered empty: a pass would change nothing. */
  private readonly emptyLines = new Set<string>();

  /**
   * @param ctx - the queue's limiter, logger and events
   * @param attempts - this process's attempts: the one whose slot is freed ends
   * @param dial - claims and dials a job promoted into a freed slot
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly attempts: Attempts,
    private readonly dial: (key: string, jobId: string, slot: GrantedSlot) => void,
  ) {}

  /**
   * Frees the slot of `jobId` and hands it on at once.
   * @param fence - the grant's fencing token, for a grant given back unused
   * @param businessId - the job's business, for the logs and events (default: the scope's)
   * @param freedAt - when the end that frees the slot reached this process (`performance.now()`;
   *   default now): the hand-off's start
   * @returns the limiter's answer
   */
  async release(
    key: string,
    jobId: string,
    fence?: number,
    attempt: Attempt | undefined = this.attempts.get(jobId),
    businessId = key,
    freedAt = performance.now(),
  ): Promise<ReleaseResult> {
    this.attempts.advance(attempt, 'ending');
    const askedAt = this.ctx.now();
    const result = await this.ctx.limiter.release(key, jobId, this.ctx.leaseMs, fence);
    if (result.released) this.sawLine(key, result.promoted.length > 0);
    this.attempts.advance(attempt, 'ended');
    this.handOn(key, jobId, { result, askedAt, freedAt }, businessId);
    return result;
  }

  /**
   * Passes the slot of `jobId`, whose call ended but whose end is not written yet, to the jobs in
   * line (`SlotLimiter.pass`), without dialing them yet: see {@link SlotHandOff.handOnPassed}.
   * @param attempt - the attempt whose slot it is: it holds nothing once the slot is passed
   * @returns the freed slot when it was passed; undefined when nothing changed (nobody waits, the
   *   limiter cannot pass, or it is unreachable): the job keeps its slot
   */
  async pass(key: string, jobId: string, attempt: Attempt): Promise<FreedSlot | undefined> {
    const { ctx } = this;
    // Nobody waited at the last word from the limiter: the usual release, one round trip fewer.
    if (!ctx.limiter.pass || this.emptyLines.has(key)) return undefined;
    // Asked as the end arrives, before it is written: the hand-off starts here.
    const freedAt = performance.now();
    const askedAt = ctx.now();
    let result: ReleaseResult;
    try {
      result = await ctx.limiter.pass(key, jobId);
    } catch (err) {
      ctx.logger.warn({ err, business_id: key, job_id: jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      return undefined;
    }
    // Not passed: nobody in the scope could take the slot.
    if (!result.released) this.sawLine(key, false);
    if (!result.released) return undefined;
    this.attempts.advance(attempt, 'ended');
    return { result, askedAt, freedAt };
  }

  /**
   * Dials the jobs a slot was passed to, their claims following `end` (written with it, after
   * it). Call it once the end is on its way to the store, in the same turn.
   * @param freed - what {@link SlotHandOff.pass} answered
   * @param end - the end being written
   * @returns tells of the freed slot and its hand-off: call it once the end is written, so that
   *   `slot:released` comes after `job:ended`
   */
  handOnPassed(key: string, jobId: string, freed: FreedSlot, end: PendingEnd): () => void {
    this.dialPromoted(key, freed, end);
    return () => this.tell(key, jobId, freed.result);
  }

  /**
   * Notes whether a job of scope `key` waits for a slot it could take, as the limiter last
   * answered: a freed slot that promoted nobody (a release, a pass) says no, a job put in line (an
   * acquire) yes. A scope seen without one is not offered a pass until it is seen otherwise.
   * @param waits - whether a job was seen waiting
   */
  sawLine(key: string, waits: boolean): void {
    if (waits) {
      this.emptyLines.delete(key);
      return;
    }
    if (this.emptyLines.size >= EMPTY_LINES_KEPT) this.emptyLines.clear();
    this.emptyLines.add(key);
  }

  /**
   * Hands a job granted a slot over to the live processes, since this one (closing) will not dial
   * it (`SlotLimiter.handOver`): once the end whose slot it took is written, if any (one given
   * up leaves the slot to run out). Never rejects.
   * @param slot - the grant
   */
  async handOver(key: string, jobId: string, slot: GrantedSlot): Promise<void> {
    try {
      if (slot.after && !(await slot.after.written)) return;
      await this.ctx.limiter.handOver?.(key, [jobId], slot.fence);
    } catch (err) {
      this.ctx.logger.warn({ err, business_id: key, job_id: jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    }
  }

  /**
   * Dials jobs promoted by a step that freed no slot (an acquire that introduced a run, a change of
   * limits), in the order the limiter chose them.
   * @param fence - the scope's fencing token that came with them
   * @param askedAt - when the step was asked for
   */
  dialGranted(key: string, promoted: readonly string[], fence: number | undefined, askedAt: number): void {
    for (const next of promoted) {
      this.ctx.logger.info({ scope: describeScope(key), job_id: next }, 'OUTBOUND_NEXT');
      this.dial(key, next, { active: 0, limit: 0, fence, askedAt });
    }
  }

  /** Tells of a freed slot, then dials the jobs the limiter promoted into it, in line order. */
  private handOn(key: string, jobId: string, freed: FreedSlot, businessId: string): void {
    this.tell(key, jobId, freed.result, businessId);
    this.dialPromoted(key, freed);
    // The promoted jobs' feeders hear of it from the limiter's signal (see OutboundQueue.start).
  }

  /** Logs and emits a freed slot and its hand-off, as the steps happened: one job at a time. */
  private tell(key: string, jobId: string, result: ReleaseResult, businessId = key): void {
    const { ctx } = this;
    const { limit, promoted } = result;
    let active = result.active - promoted.length;
    let queueLength = result.queueLength + promoted.length;
    if (result.released) {
      ctx.logger.info(
        { business_id: businessId, job_id: jobId, active, limit, queue_len: queueLength },
        'OUTBOUND_DONE',
      );
      emit(ctx, 'slot:released', { businessId, jobId, active, limit, queueLength, promoted });
    }
    for (const next of promoted) {
      active += 1;
      queueLength -= 1;
      ctx.logger.info(
        { business_id: businessId, job_id: next, active, limit, queue_len: queueLength },
        'OUTBOUND_NEXT',
      );
    }
  }

  /** Dials the promoted jobs in line order, each with the counters its grant left. */
  private dialPromoted(key: string, { result, askedAt, freedAt }: FreedSlot, after?: PendingEnd): void {
    const { limit, promoted, fence } = result;
    let active = result.active - promoted.length;
    for (const next of promoted) {
      active += 1;
      this.dial(key, next, { active, limit, fence, askedAt, freedAt, after });
    }
  }
}
