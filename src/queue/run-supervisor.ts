import type { RunRecord } from '../store/job-store.js';
import type { Dispatcher } from './dispatcher.js';
import { emit, type QueueContext } from './queue-context.js';
import { RunFeeder } from './run-feeder.js';

/**
 * Keeps this process's run feeders in step with the runs it owns, marks runs completed when their
 * last job ends, and wakes whoever waits on a run (`waitForRun`).
 */
export class RunSupervisor {
  private readonly feeders = new Map<string, RunFeeder>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private closed = false;

  /**
   * @param ctx - the queue's shared adapters and settings
   * @param dispatcher - places calls for the feeders
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly dispatcher: Dispatcher,
  ) {}

  /**
   * Gives this read of `run` to its feeder here, if one feeds it.
   * @returns whether one does
   */
  refresh(run: RunRecord): boolean {
    const feeding = this.feeders.get(run.runId);
    if (feeding?.isStopped !== false) return false;
    feeding.refresh(run);
    return true;
  }

  /** Starts feeding `run` here, unless a feeder already does (then it takes this read of the run). */
  feed(run: RunRecord): void {
    if (this.refresh(run) || this.closed) return;
    this.dispatcher.retries.know(run.runId, run.retry);
    this.feeders.set(
      run.runId,
      new RunFeeder(this.ctx, this.dispatcher, run, (runId) => this.drained(runId, run.businessId)),
    );
  }

  /**
   * Makes the feeders here that asked in one of `keys`, or feed a run of `businessId`, ask again
   * at once for the jobs they keep in line: those scopes were rebuilt (a business moved), and
   * their lines emptied.
   */
  askAgain(keys: readonly string[], businessId: string): void {
    for (const feeder of this.feeders.values())
      if (feeder.businessId === businessId || (feeder.scope !== undefined && keys.includes(feeder.scope)))
        feeder.askAgain();
  }

  /** Stops feeding `runId` here; resolves when its feeder has left the waiting line. */
  async unfeed(runId: string): Promise<void> {
    const feeder = this.feeders.get(runId);
    this.feeders.delete(runId);
    await feeder?.stop();
  }

  /** After each lease renewal: feed the running runs this process owns, stop feeding the others. */
  ownRuns(runs: readonly RunRecord[]): void {
    const owned = new Set<string>();
    for (const run of runs) {
      if (run.status !== 'running' || this.dispatcher.stoppedRuns.has(run.runId)) continue;
      owned.add(run.runId);
      this.feed(run);
    }
    for (const runId of this.feeders.keys()) if (!owned.has(runId)) void this.unfeed(runId);
  }

  /** A job of `runId` ended here: its feeder may have nothing left, so let it check now. */
  jobEnded(runId: string, businessId: string, businessIdle: boolean): void {
    this.notify(runId);
    const feeder = this.feeders.get(runId);
    if (feeder) feeder.jobEnded();
    // Fed elsewhere: its owner checks on its own, but an idle business is worth a look here.
    else if (businessIdle) void this.complete(runId, businessId).catch(() => {});
  }

  /** A retry of `runId` was scheduled: its feeder should plan for it. */
  jobRequeued(runId: string): void {
    this.feeders.get(runId)?.poke();
  }

  /** Marks a run completed when none of its jobs is left. @returns whether this call completed it */
  async complete(runId: string, businessId: string): Promise<boolean> {
    const { store, now } = this.ctx;
    if ((await store.countUnfinished(runId)) > 0) return false;
    if (!(await store.setRunStatus(runId, ['running'], 'completed', now()))) return false;
    this.ctx.logger.info({ run_id: runId, business_id: businessId }, 'OUTBOUND_RUN_COMPLETED');
    emit(this.ctx, 'run:completed', { runId, businessId });
    this.notify(runId);
    return true;
  }

  /** The dialer cannot place calls (bad credentials): pause the run instead of failing every job. */
  async block(runId: string, error: Error): Promise<void> {
    if (!(await this.ctx.store.setRunStatus(runId, ['running'], 'paused', this.ctx.now()))) return;
    void this.unfeed(runId);
    this.ctx.logger.error({ run_id: runId, err: error }, 'OUTBOUND_RUN_PAUSED');
    emit(this.ctx, 'error', error);
    this.notify(runId);
  }

  /** Wakes everyone waiting on `runId`. */
  notify(runId: string): void {
    for (const wake of this.watchers.get(runId) ?? []) wake();
  }

  /** Resolves at the next change of `runId` seen by this process, or after `timeoutMs`. */
  nextChange(runId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const watchers = this.watchers.get(runId) ?? new Set();
      this.watchers.set(runId, watchers);
      const done = () => {
        this.ctx.clock.clearTimeout(timer);
        watchers.delete(done);
        if (watchers.size === 0) this.watchers.delete(runId);
        resolve();
      };
      const timer = this.ctx.clock.setTimeout(done, timeoutMs);
      watchers.add(done);
    });
  }

  /** Stops every feeder of this process. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.feeders.keys()].map((runId) => this.unfeed(runId)));
  }

  private async drained(runId: string, businessId: string): Promise<void> {
    if (await this.complete(runId, businessId)) void this.unfeed(runId);
  }
}
