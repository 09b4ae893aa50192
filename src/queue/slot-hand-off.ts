import type { ReleaseResult } from '../limiter/slot-limiter.js';
import type { Attempt, Attempts, GrantedSlot } from './attempts.js';
import { emit, type QueueContext } from './queue-context.js';

/** A slot freed in the limiter, not handed on yet. */
interface FreedSlot {
  /** The limiter's answer: counters and the jobs promoted into the freed slot. */
  result: ReleaseResult;
  /** When the release was asked for: the promoted grants' age counts from then. */
  askedAt: number;
}

/**
 * The release that frees a slot and hands it on to the jobs the limiter promoted in the same
 * step (dialed here at once, through `dial`).
 */
export class SlotHandOff {
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
   * @returns the limiter's answer
   */
  async release(
    key: string,
    jobId: string,
    fence?: number,
    attempt: Attempt | undefined = this.attempts.get(jobId),
  ): Promise<ReleaseResult> {
    this.attempts.advance(attempt, 'ending');
    const askedAt = this.ctx.now();
    const result = await this.ctx.limiter.release(key, jobId, this.ctx.leaseMs, fence);
    this.attempts.advance(attempt, 'ended');
    this.handOn(key, jobId, { result, askedAt });
    return result;
  }

  /** Tells of a freed slot, then dials the jobs the limiter promoted into it, in line order. */
  private handOn(key: string, jobId: string, { result, askedAt }: FreedSlot): void {
    const { ctx } = this;
    // The log reads as the steps happened: the slot freed, then handed on one job at a time.
    const { limit, promoted } = result;
    let active = result.active - promoted.length;
    let queueLength = result.queueLength + promoted.length;
    if (result.released) {
      ctx.logger.info(
        { business_id: key, job_id: jobId, active, limit, queue_len: queueLength },
        'OUTBOUND_DONE',
      );
      emit(ctx, 'slot:released', { businessId: key, jobId, active, limit, queueLength, promoted });
    }
    for (const next of promoted) {
      active += 1;
      queueLength -= 1;
      ctx.logger.info(
        { business_id: key, job_id: next, active, limit, queue_len: queueLength },
        'OUTBOUND_NEXT',
      );
      this.dial(key, next, { active, limit, fence: result.fence, askedAt });
    }
    // The promoted jobs' feeders hear of it from the limiter's signal (see OutboundQueue.start).
  }
}
