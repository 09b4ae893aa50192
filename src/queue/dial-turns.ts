import type { QueueContext } from './queue-context.js';

/** Dial starts under `dialsPerSecond` are spaced this much wider than 1/rate, for network jitter. */
const DIAL_SPACING_FACTOR = 1.1;

/**
 * Keeps this process's dial starts on `dialsPerSecond` turns, reserved in the shared limiter,
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
   * Reserves the next dial-start turn and waits for it. 10% wider than 1/rate, so that up to
   * 100 ms of jitter cannot put one start too many into the provider's second.
   * @returns the instant of the turn (undefined without a rate), or false when closed meanwhile
   */
  async take(): Promise<number | undefined | false> {
    const { ctx } = this;
    if (ctx.dialsPerSecond === undefined) return undefined;
    const waitMs = await ctx.limiter.reserveDialStart('dial', ctx.dialsPerSecond / DIAL_SPACING_FACTOR);
    const turnAt = ctx.now() + waitMs;
    if (waitMs > 0 && !(await this.pause(waitMs))) return false;
    return turnAt;
  }

  /**
   * Keeps a claimed dial on its turn: one that comes later than its turn by more than the
   * spacing's slack (a slow claim write, a busy event loop) takes a fresh turn, so that it cannot
   * start within a second of the ones reserved after it. The fresh turn is waited for however
   * far away it is (in a backlog, seconds): a dial that started at once would break the rate. The
   * claim's run and its slot are checked again after the wait (see the dispatcher).
   * @param turnAt - what {@link DialTurns.take} gave
   * @returns `on-turn` (dial now), `waited` (a fresh turn came after a wait: what was checked
   *   before it may have changed), or `closed` (closed meanwhile: the dial must not start)
   */
  async keep(turnAt: number | undefined): Promise<'on-turn' | 'waited' | 'closed'> {
    const { ctx } = this;
    if (this.closed) return 'closed';
    if (turnAt === undefined || ctx.dialsPerSecond === undefined) return 'on-turn';
    const slackMs = ((DIAL_SPACING_FACTOR - 1) * 1000) / ctx.dialsPerSecond / 2;
    if (ctx.now() - turnAt <= slackMs) return 'on-turn';
    const waitMs = await ctx.limiter
      .reserveDialStart('dial', ctx.dialsPerSecond / DIAL_SPACING_FACTOR)
      .catch(() => 0);
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
