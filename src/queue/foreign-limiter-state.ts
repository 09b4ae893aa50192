import { sleep } from '../clock.js';
import { InvalidStateError } from '../errors.js';
import { describeScope } from '../limiter/limiter-scope.js';
import type { GrantedSlot } from './attempts.js';
import { emit, type QueueContext } from './queue-context.js';

/** First pause before replacing a key's state found foreign again soon after the last time. */
const FIRST_BACKOFF_MS = 250;
/** Longest pause between two replacements of one key's state (two databases live on one Redis). */
const MAX_BACKOFF_MS = 5_000;
/** A key whose state was not found foreign for this long starts again without a pause. */
const QUIET_MS = 60_000;

/**
 * Tells a refused claim of a stale grant from one of a limiter state made with another database,
 * and replaces such a state from this process's database.
 *
 * A grant carries the fence of the limiter state that made it; the claim presents it, and the
 * database refuses it unless its own fence for the business is that one. A database fence above
 * the grant's means the state was rebuilt since the grant: normal, the job is offered again,
 * unless grants keep coming under that same fence for a lease (the state was never rebuilt from
 * this database: another one made it under a lower fence, or a rebuild failed). One below it means
 * Redis holds a state this database never fenced (one Redis used with two databases, or a
 * database restored from a backup). Either way every grant of it would be refused, forever.
 * Then the database raises its fence above Redis's, the state is rebuilt from the database's
 * holders under it (unless a newer one replaced it meanwhile), and it is reported once. Should it
 * keep happening (two databases live on one Redis at once), each replacement waits longer, up to
 * {@link MAX_BACKOFF_MS}, and each is reported: never a tight loop.
 */
export class ForeignLimiterState {
  /** Replacements under way, per limiter key: refused claims of the same state wait for it. */
  private readonly pending = new Map<string, Promise<void>>();
  /** The last replacement per key: when it ended and the pause it took. */
  private readonly last = new Map<string, { at: number; pauseMs: number }>();

  /** Per key: the stale fence grants were last refused with, and since when. */
  private readonly behind = new Map<string, { fence: number; since: number }>();

  /** @param ctx - the queue's store, limiter, logger and events */
  constructor(private readonly ctx: QueueContext) {}

  /**
   * Called after the claim of a granted job was refused, before its slot is given back: when the
   * grant's fence is ahead of the database's, replaces the limiter's state of `key`. Never rejects
   * (a backend outage is logged; the next refused claim tries again).
   * @param key - limiter scope
   * @param jobId - the job whose claim was refused
   * @param business - the job's business (whose fence the claim presented)
   * @param slot - the grant, with its fence and the business's limit
   */
  claimRefused(key: string, jobId: string, business: string, slot: GrantedSlot): Promise<void> {
    // Without a fence, or a limit to rebuild with (a job handed over), there is nothing to check:
    // the next grant of the business tells.
    if (slot.fence === undefined || slot.limit < 1) return Promise.resolve();
    const running = this.pending.get(key);
    if (running) return running;
    const task = this.check(key, jobId, business, { ...slot, fence: slot.fence })
      .catch((err: unknown) => {
        this.ctx.logger.warn({ err, business_id: business, job_id: jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, task);
    return task;
  }

  /**
   * Whether the state of `key` still made a grant under the stale `fence` a lease or more after a
   * claim of it was first refused. Grants made before a rebuild are refused for a while after it
   * (a dial turn can hold one back for seconds), but the rebuilt state grants under its new fence
   * only. One that still grants under a fence this database left behind was never rebuilt from it
   * (another database made it, or its rebuild failed), and every claim of it would be refused.
   * @param askedAt - when the refused grant was asked for
   */
  private stuckBehind(key: string, fence: number, askedAt: number): boolean {
    const seen = this.behind.get(key);
    if (seen?.fence !== fence) {
      this.behind.set(key, { fence, since: this.ctx.now() });
      return false;
    }
    return askedAt - seen.since >= this.ctx.leaseMs;
  }

  private async check(
    key: string,
    jobId: string,
    business: string,
    slot: GrantedSlot & { fence: number },
  ): Promise<void> {
    const { ctx } = this;
    const { fence } = slot;
    const stored = await ctx.store.slotFence(business);
    // Equal: refused for another reason (done, canceled, run not running).
    if (stored === fence) return;
    if (stored > fence && !this.stuckBehind(key, fence, slot.askedAt)) return;
    this.behind.delete(key);
    const previous = this.last.get(key);
    const pauseMs =
      previous && ctx.now() - previous.at < QUIET_MS
        ? Math.min(MAX_BACKOFF_MS, Math.max(FIRST_BACKOFF_MS, previous.pauseMs * 2))
        : 0;
    const error = new InvalidStateError(
      `the limiter state of ${describeScope(key)} was made with another database (its fence ${fence} is ` +
        `${fence > stored ? 'ahead of' : 'still behind'} this database's ${stored}): it is rebuilt from this database`,
    );
    ctx.logger.error(
      {
        business_id: business,
        job_id: jobId,
        limiter_fence: fence,
        database_fence: stored,
        retry_in_ms: pauseMs,
      },
      'OUTBOUND_LIMITER_FOREIGN_STATE',
    );
    emit(ctx, 'error', error);
    if (pauseMs > 0) await sleep(ctx.clock, pauseMs);
    try {
      const state = await ctx.store.fenceSlots(key, fence);
      await ctx.limiter.rebuild(key, state, ctx.leaseMs, { ifNewer: true });
    } finally {
      this.last.set(key, { at: ctx.now(), pauseMs });
    }
  }
}
