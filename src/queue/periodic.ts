import type { Clock } from '../clock.js';

/**
 * A task run every `periodMs` on the engine's clock, one run at a time: the next run is planned
 * when the last one ends, so a slow run delays only its own loop. Its timers never keep the
 * process alive.
 */
export class Periodic {
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = false;

  /**
   * @param clock - where the timers are set
   * @param periodMs - the pause between the end of a run and the start of the next
   * @param task - the work; a failure is passed to `onError` and the loop goes on
   * @param onError - reports a failed run
   */
  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    private readonly task: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Plans the first run one period from now. */
  start(): void {
    this.plan();
  }

  /** Runs the task now unless a run is under way (then resolves with that run). */
  runNow(): Promise<void> {
    if (this.stopped) return this.running ?? Promise.resolve();
    this.running ??= this.task()
      .catch(this.onError)
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Runs the task once more after the run under way, if any, has ended. */
  async runFresh(): Promise<void> {
    await this.running;
    await this.runNow();
  }

  /** Stops the loop; resolves when a run under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.running;
  }

  private plan(): void {
    if (this.stopped) return;
    const handle = this.clock.setTimeout(() => {
      void this.runNow().finally(() => this.plan());
    }, this.periodMs);
    (handle as { unref?: () => void } | null)?.unref?.();
    this.timer = handle;
  }
}
