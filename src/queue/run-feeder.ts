import type { RunRecord } from '../store/job-store.js';
import type { Dispatcher } from './dispatcher.js';
import type { QueueContext } from './queue-context.js';
import { emit } from './queue-context.js';

/** Jobs read from the store per page. */
const PAGE_SIZE = 256;
/** Longest pause after a backend failure before the feeder tries again. */
const MAX_BACKOFF_MS = 5000;

/**
 * Feeds one run's queued jobs to the limiter, in order, in the process that owns the run.
 * `acquired` dials now; `enqueued` and `already_queued` wait for that job's hand-off (an event,
 * never a poll: waiting is never skipping); `inflight` means another holder dials it, so move on.
 * At most one job of the run waits in the business's line at a time.
 */
export class RunFeeder {
  private stopped = false;
  private wake: (() => void) | undefined;
  private waitingJob: string | undefined;
  /** Position in the run: jobs up to this `seq` were offered in the current pass. */
  private cursor = 0;
  /** Whether the current pass dialed or handed off anything (a pass that did not must not spin). */
  private progress = false;
  private readonly safetyMs: number;
  /** Resolves when the loop has exited. */
  readonly done: Promise<void>;

  /**
   * @param ctx - the queue's shared adapters and settings
   * @param dispatcher - places calls for jobs granted slots
   * @param run - the run to feed
   * @param drained - called each time the run has no job left to offer (completion check)
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly dispatcher: Dispatcher,
    readonly run: RunRecord,
    private readonly drained: (runId: string) => Promise<void>,
  ) {
    this.safetyMs = Math.max(1000, Math.floor(ctx.leaseMs / 3));
    this.done = this.loop();
  }

  /** Whether {@link RunFeeder.stop} was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Stops feeding and takes the run's waiting job out of the line. */
  stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    if (this.waitingJob !== undefined) this.dispatcher.waiters.interrupt(this.waitingJob);
    return this.done;
  }

  /** Ends a pause of the feeder early (a retry is due, a job ended, the run resumed). */
  poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.step();
        failures = 0;
      } catch (err) {
        // Database or Redis unreachable: pause feeding with backoff; nothing is lost.
        failures += 1;
        const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures);
        this.ctx.logger.warn(
          { err, run_id: this.run.runId, business_id: this.run.businessId, retry_in_ms: delay },
          'OUTBOUND_BACKEND_UNAVAILABLE',
        );
        emit(this.ctx, 'error', err instanceof Error ? err : new Error(String(err)));
        await this.sleep(delay);
      }
    }
  }

  /** Reads one page of queued jobs and offers each; pauses when there is nothing to offer. */
  private async step(): Promise<void> {
    const { ctx, run } = this;
    const page = await ctx.store.nextQueuedJobs(run.runId, this.cursor, PAGE_SIZE, ctx.now());
    if (page.length === 0) {
      if (this.cursor === 0) {
        await this.drained(run.runId);
        if (!this.stopped) await this.sleep(await this.nextRetryDelay());
      } else if (!this.progress) {
        // Every job left is held by a slot nobody dials yet: the reconciler will resolve it.
        await this.sleep(this.safetyMs);
      }
      this.cursor = 0;
      this.progress = false;
      return;
    }
    for (const job of page) {
      if (this.stopped) return;
      await this.offer(job.jobId);
      if (this.stopped) return;
      this.cursor = job.seq;
    }
  }

  /** Offers one job until it holds a slot, is held by someone else, or the feeder stops. */
  private async offer(jobId: string): Promise<void> {
    const { ctx, run } = this;
    const key = run.businessId;
    const fields = { business_id: key, job_id: jobId, run_id: run.runId };
    for (;;) {
      const asked = ctx.now();
      const slot = await ctx.limiter.acquire(key, jobId, run.concurrency, ctx.leaseMs);
      if (slot.status === 'acquired') {
        ctx.logger.info({ ...fields, active: slot.active, limit: slot.limit }, 'OUTBOUND_ENQUEUE');
        this.dispatcher.dialHeld(key, jobId, { ...slot, askedAt: asked });
        this.progress = true;
        return;
      }
      if (slot.status === 'inflight') return;
      if (slot.status === 'enqueued') {
        ctx.logger.info(
          { ...fields, active: slot.active, limit: slot.limit, queue_len: slot.queueLength },
          'OUTBOUND_QUEUED',
        );
        emit(ctx, 'job:waiting', {
          jobId,
          runId: run.runId,
          businessId: key,
          active: slot.active,
          limit: slot.limit,
          queueLength: slot.queueLength,
        });
      }
      // Whoever releases the slot dials the promoted job; the feeder then moves on.
      this.waitingJob = jobId;
      const promoted = await this.dispatcher.waiters.wait(jobId, this.safetyMs, asked);
      this.waitingJob = undefined;
      if (promoted) {
        this.progress = true;
        return;
      }
      if (this.stopped) {
        await ctx.limiter.remove(key, [jobId]);
        return;
      }
    }
  }

  private async nextRetryDelay(): Promise<number> {
    const at = await this.ctx.store.nextRetryAt(this.run.runId);
    return at === undefined ? this.safetyMs : Math.min(this.safetyMs, Math.max(0, at - this.ctx.now()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.poke(), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (this.stopped) this.poke();
    });
  }
}
