import { groupOfScope } from '../limiter/limiter-scope.js';
import type { DialRate } from '../limiter/slot-limiter.js';
import type { GrantedSlot } from './attempts.js';
import type { QueueContext } from './queue-context.js';

/** Dial starts under `dialsPerSecond` are spaced this much wider than 1/rate, for network jitter. */
const DIAL_SPACING_FACTOR = 1.1;

/** A dial-start turn: when it is, and the rates it was reserved under. */
export interface DialTurn {
  /** The instant of the turn (epoch ms). */
  at: number;
  /** The scope the rates belong to. */
  key: string;
  /** The rates, already widened by the spacing factor. */
  rates: DialRate[];
}

/**
 * The rates a dial of `businessId` in scope `key` starts under: the business's own
 * `dialsPerSecond`, and in a group's scope the group's; the queue's `dialsPerSecond` stands in
 * for a scope's missing one (each group, and each business of no group, is spaced on its own).
 * @returns the rates, widened for jitter (empty: no rate applies)
 */
export async function dialRates(ctx: QueueContext, key: string, businessId: string): Promise<DialRate[]> {
  const view = await ctx.businesses.view(businessId);
  const own = view.dialsPerSecond ?? undefined;
  const inGroup = groupOfScope(key) !== undefined;
  const rates: DialRate[] = [];
  if (own !== undefined) rates.push({ name: `business:${businessId}`, perSecond: own });
  const shared = inGroup
    ? (view.groupDialsPerSecond ?? ctx.dialsPerSecond)
    : own === undefined
      ? ctx.dialsPerSecond
      : undefined;
  if (shared !== undefined) rates.push({ name: 'scope', perSecond: shared });
  return rates.map((rate) => ({ ...rate, perSecond: rate.perSecond / DIAL_SPACING_FACTOR }));
}

/**
 * The business of a granted job, for its dial rates: as the grant tells, or as the feeder here
 * that asked for it told (`asker`), the scope's own for a business of no group, else read from
 * the store (a job asked for by another process, promoted by a release here).
 * @param key - the scope of the grant
 */
export async function grantedBusiness(
  ctx: QueueContext,
  key: string,
  jobId: string,
  slot: GrantedSlot,
  asker?: string,
): Promise<string> {
  if (slot.business !== undefined) return slot.business;
  if (asker !== undefined) return asker;
  if (groupOfScope(key) === undefined) return key;
  return (await ctx.store.getJobRoute(jobId))?.businessId ?? key;
}

/** Most jobs {@link JobAskers} keeps: past it, it forgets them all (a read of each job stands in). */
const MAX_ASKERS = 10_000;

/** The business of each job a feeder of this process waits for, until its grant is dialed. */
export class JobAskers {
  private readonly businesses = new Map<string, string>();

  /** A feeder here waits for `jobId` of `businessId`. */
  asked(jobId: string, businessId: string): void {
    if (this.businesses.size >= MAX_ASKERS) this.businesses.clear();
    this.businesses.set(jobId, businessId);
  }

  /** The wait for `jobId` ended without a promotion (or its feeder left the line). */
  forget(jobId: string): void {
    this.businesses.delete(jobId);
  }

  /** The business that asked for `jobId`, if a feeder here did; forgotten by this read. */
  take(jobId: string): string | undefined {
    const business = this.businesses.get(jobId);
    this.businesses.delete(jobId);
    return business;
  }
}

/**
 * Keeps this process's dial starts on their turns under each scope's rates (the business's own
 * `dialsPerSecond`, its group's, or the queue's), reserved in the shared limiter,
 * and owns the waits of its dials (for a turn, for an unknown outcome), which
 * {@link DialTurns.close} ends early.
 */
export class DialTurns {
  /** Waits in progress: ended early by close(). */
  private readonly pauses = new Set<() => void>();
  private closed = false;

  /**
   * @param ctx - the queue's limiter, clock and rate
   */
  constructor(private readonly ctx: QueueContext) {}

  /**
   * Reserves the next dial-start turn under the job's rates and waits for it. 10% wider than
   * 1/rate, so that up to 100 ms of jitter cannot put one start too many into the provider's second.
   * @param key - the limiter scope of the job's slot
   * @param businessId - the job's business (its rates)
   * @returns the turn (undefined without a rate), or false when closed meanwhile
   */
  async take(key: string, businessId: string): Promise<DialTurn | undefined | false> {
    const { ctx } = this;
    const rates = await dialRates(ctx, key, businessId);
    if (rates.length === 0) return undefined;
    const waitMs = await ctx.limiter.reserveDialStart(key, rates);
    const turn = { at: ctx.now() + waitMs, key, rates };
    if (waitMs > 0 && !(await this.pause(waitMs))) return false;
    return turn;
  }

  /**
   * Keeps a claimed dial on its turn: one that comes later than its turn by more than the
   * spacing's slack (a slow claim write, a busy event loop) takes a fresh turn, so that it cannot
   * start within a second of the ones reserved after it. The fresh turn is waited for however
   * far away it is (in a backlog, seconds): a dial that started at once would break the rate. The
   * claim's run and its slot are checked again after the wait (see the dispatcher).
   * @param turn - what {@link DialTurns.take} gave
   * @returns `on-turn` (dial now), `waited` (a fresh turn came after a wait: what was checked
   *   before it may have changed), or `closed` (closed meanwhile: the dial must not start)
   */
  async keep(turn: DialTurn | undefined): Promise<'on-turn' | 'waited' | 'closed'> {
    const { ctx } = this;
    if (this.closed) return 'closed';
    if (turn === undefined) return 'on-turn';
    const fastest = Math.max(...turn.rates.map((rate) => rate.perSecond * DIAL_SPACING_FACTOR));
    const slackMs = ((DIAL_SPACING_FACTOR - 1) * 1000) / fastest / 2;
    if (ctx.now() - turn.at <= slackMs) return 'on-turn';
    const waitMs = await ctx.limiter.reserveDialStart(turn.key, turn.rates).catch(() => 0);
    if (waitMs <= 0) return this.closed ? 'closed' : 'on-turn';
    return (await this.pause(waitMs)) ? 'waited' : 'closed';
  }

  /**
   * Waits `ms`; {@link DialTurns.close} ends the wait early.
   * @returns false when closed meanwhile
   */
  pause(ms: number): Promise<boolean> {
    const { clock } = this.ctx;
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (due: boolean) => {
        clock.clearTimeout(timer);
        this.pauses.delete(cancel);
        resolve(due && !this.closed);
      };
      const cancel = () => finish(false);
      const timer = clock.setTimeout(() => finish(true), ms);
      this.pauses.add(cancel);
    });
  }

  /** Ends every wait now, and every later one at once. */
  close(): void {
    this.closed = true;
    for (const cancel of [...this.pauses]) cancel();
  }
}
