import { InvalidStateError } from '../errors.js';
import type { RunRecord } from '../store/job-store.js';
import type { RunStatus, RunSummary, StopOptions } from '../types.js';
import type { Dispatcher } from './dispatcher.js';
import { emit, type QueueContext } from './queue-context.js';
import type { Reconciler } from './reconciler.js';
import type { RunQueries } from './run-queries.js';
import type { RunSupervisor } from './run-supervisor.js';

/** What {@link RunControls} works with: the queue's parts. */
export interface RunControlParts {
  dispatcher: Dispatcher;
  runs: RunSupervisor;
  reads: RunQueries;
  reconciler: Reconciler;
  /** Whether this process dispatches (`start()` was called). */
  started: () => boolean;
}

/** Pause, resume and stop of one run, as `OutboundQueue` offers them (and the business-wide ones use). */
export class RunControls {
  /**
   * @param ctx - the queue's store, logger and clock
   * @param parts - the queue's dispatcher, supervisor, reads and reconciler
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly parts: RunControlParts,
  ) {}

  /**
   * Pauses a run: no new call starts; calls in progress end naturally. Idempotent.
   * @throws {@link InvalidStateError} when the run is stopped or completed
   */
  async pause(runId: string): Promise<RunSummary> {
    await this.changeStatus(runId, ['running'], 'paused');
    await this.parts.runs.unfeed(runId);
    return this.parts.reads.summarize(await this.parts.reads.requireRun(runId));
  }

  /**
   * Resumes a paused run. Idempotent.
   * @throws {@link InvalidStateError} when the run is stopped or completed
   */
  async resume(runId: string): Promise<RunSummary> {
    await this.changeStatus(runId, ['paused'], 'running');
    const run = await this.parts.reads.requireRun(runId);
    if (this.parts.started() && (run.ownerId === undefined || run.ownerId === this.ctx.processId))
      this.parts.runs.feed(run);
    return this.parts.reads.summarize(run);
  }

  /**
   * Stops a run: waiting jobs are canceled and no call of the run is placed after this resolves;
   * calls in progress end naturally, or are hung up with `{ hangup: true }`.
   * @returns the run's summary, status `stopped` (or `completed` if it had finished before)
   */
  async stop(runId: string, options: StopOptions = {}): Promise<RunSummary> {
    const { store, now } = this.ctx;
    const { dispatcher, runs, reads } = this.parts;
    // The mark covers claims already under way; once they settled, the run reads `stopped` and
    // no claim of it can succeed, so the mark is dropped (a long-lived process keeps none).
    dispatcher.stoppedRuns.add(runId);
    let run: RunRecord;
    let changed: boolean;
    let canceled: number;
    try {
      run = await reads.requireRun(runId);
      changed = await store.setRunStatus(runId, ['running', 'paused'], 'stopped', now());
      await runs.unfeed(runId);
      canceled = await store.cancelQueuedJobs(runId, now());
      await dispatcher.settleClaims(runId);
      await this.claimsPlaced(runId);
    } finally {
      dispatcher.stoppedRuns.delete(runId);
    }
    if (changed) {
      this.ctx.logger.info({ run_id: runId, business_id: run.businessId, canceled }, 'OUTBOUND_RUN_STOPPED');
      emit(this.ctx, 'run:status', { runId, status: 'stopped' });
    }
    if (options.hangup && this.ctx.dialer.hangup) {
      for (const callId of await store.liveCallIds(runId)) {
        await this.ctx.dialer.hangup(callId).catch((err: unknown) => {
          this.ctx.logger.warn({ err, run_id: runId, call_id: callId }, 'OUTBOUND_HANGUP_FAILED');
        });
      }
    }
    runs.notify(runId);
    return reads.summarize(await reads.requireRun(runId));
  }

  /**
   * Waits until no claim of the run, in any process, sits between its claim and its `dial()`:
   * such a claim was made before the stop was written, and its call must be placed before
   * `stop()` resolves, never after. A claim of a process that died is ended by the reconciler
   * within about a lease; one still unplaced after two leases is ended here (see
   * {@link Reconciler.abandonUnplaced}).
   */
  private async claimsPlaced(runId: string): Promise<void> {
    const deadline = this.ctx.now() + 2 * this.ctx.leaseMs;
    while ((await this.ctx.store.countUnplacedClaims(runId)) > 0) {
      if (this.ctx.now() >= deadline) {
        await this.parts.reconciler.abandonUnplaced(runId);
        return;
      }
      await this.parts.runs.nextChange(runId, 25);
    }
  }

  private async changeStatus(runId: string, from: RunStatus[], to: RunStatus): Promise<void> {
    if (await this.ctx.store.setRunStatus(runId, from, to, this.ctx.now())) {
      this.ctx.logger.info(
        { run_id: runId, status: to },
        to === 'paused' ? 'OUTBOUND_RUN_PAUSED' : 'OUTBOUND_RUN_RESUMED',
      );
      emit(this.ctx, 'run:status', { runId, status: to });
      this.parts.runs.notify(runId);
      return;
    }
    const run = await this.parts.reads.requireRun(runId);
    if (run.status !== to)
      throw new InvalidStateError(`run ${runId} is ${run.status}; it cannot become ${to}`);
  }
}
