import type { QueuedJobRef, RunRecord } from '../store/job-store.js';
import type { Dispatcher } from './dispatcher.js';
import type { QueueContext } from './queue-context.js';
import { emit } from './queue-context.js';

/** Jobs read from the store per page. */
const PAGE_SIZE = 256;
/** Longest pause after a backend failure before the feeder tries again. */
const MAX_BACKOFF_MS = 5000;

/**
 * Feeds one run's queued jobs to the limiter, in order, in the process that owns the run. It
 * keeps up to `concurrency` of the run's jobs in the business's line, asked for in one limiter
 * call per batch, so that each freed slot goes to the next job in the same step that frees it.
 * `acquired` dials now; `enqueued` and `already_queued` wait for that job's hand-off (an event,
 * never a poll: waiting is never skipping); `inflight` means another holder dials it, so move on.
 */
export class RunFeeder {
  private stopped = false;
  private wake: (() => void) | undefined;
  /** The run's jobs waiting in the business's line -> the ask they wait on. */
  private readonly waiting = new Map<string, object>();
  /** Waiting jobs whose safety timeout passed: asked for again, in case their line was lost. */
  private readonly overdue = new Set<string>();
  /** The rest of the page being offered. */
  private page: QueuedJobRef[] = [];
  /** The page being offered is the last of the pass (it was short). */
  private lastPage = false;
  /** Position in the run: jobs up to this `seq` were offered in the current pass. */
  private cursor = 0;
  /** Whether the current pass found jobs that were not in line yet. */
  private offeredInPass = false;
  /** The last pass found only jobs already in line: nothing to read until one is handed off. */
  private exhausted = false;
  /** Whether the current pass dialed or handed off anything (a pass that did not must not spin). */
  private progress = false;
  /** Set by {@link RunFeeder.poke} (and pause timers): whatever the feeder waits for, start a pass. */
  private passDue = false;
  /** A job of the run ended since the last completion check. */
  private endedSinceCheck = false;
  private readonly safetyMs: number;
  /** Resolves when the loop has exited and the run's jobs have left the line. */
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

  /** Stops feeding and takes the run's waiting jobs out of the line. */
  stop(): Promise<void> {
    this.stopped = true;
    for (const jobId of this.waiting.keys()) this.dispatcher.waiters.interrupt(jobId);
    this.poke();
    return this.done;
  }

  /** Ends a pause of the feeder early (a retry is due, a job was promoted, the run resumed). */
  poke(): void {
    this.passDue = true;
    this.wakeUp();
  }

  /**
   * Tells the feeder one of its run's jobs ended. With nothing left to offer, it only checks
   * whether the run is complete (one count), instead of reading the run again.
   */
  jobEnded(): void {
    this.endedSinceCheck = true;
    this.wakeUp();
  }

  private wakeUp(): void {
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
    await this.leaveLine();
  }

  /** Asks again for overdue jobs, or offers the next jobs while the run has room in the line. */
  private async step(): Promise<void> {
    if (this.overdue.size > 0) {
      await this.offer([...this.overdue]);
      return;
    }
    const room = this.run.concurrency - this.waiting.size;
    if (room <= 0) {
      await this.sleep();
      return;
    }
    if (this.page.length === 0 && !(await this.nextPage())) return;
    const batch = this.page.splice(0, room);
    await this.offer(batch.map((job) => job.jobId));
    this.cursor = batch[batch.length - 1]?.seq ?? this.cursor;
  }

  /**
   * Reads the next page of the pass, or ends the pass (completion check, pause) when there is none.
   * @returns whether a page with jobs to offer was read
   */
  private async nextPage(): Promise<boolean> {
    const { ctx, run } = this;
    if (this.exhausted && this.waiting.size > 0 && !this.passDue) {
      await this.sleep();
      return false;
    }
    if (this.cursor === 0) this.passDue = false;
    this.exhausted = false;
    const rows = this.lastPage
      ? []
      : await ctx.store.nextQueuedJobs(run.runId, this.cursor, PAGE_SIZE, ctx.now());
    if (rows.length > 0) {
      // Jobs in line, and jobs handed a slot whose claim is being written, still read as queued:
      // skip them. (Offered again, a job whose call ended meanwhile would wait in line for nothing.)
      this.lastPage = rows.length < PAGE_SIZE;
      this.page = rows.filter(
        (row) => !this.waiting.has(row.jobId) && !this.dispatcher.attempts.isClaiming(row.jobId),
      );
      if (this.page.length === 0) this.cursor = rows[rows.length - 1]?.seq ?? this.cursor;
      else this.offeredInPass = true;
      return this.page.length > 0;
    }
    const offered = this.offeredInPass;
    const progress = this.progress;
    this.cursor = 0;
    this.lastPage = false;
    this.offeredInPass = false;
    this.progress = false;
    if (this.waiting.size > 0) {
      // Reading again now would find only jobs in line: wait for their hand-offs first.
      this.exhausted = true;
    } else if (offered) {
      // Every job offered is held by a slot nobody dials yet: the reconciler will resolve it.
      if (!progress) await this.sleep(this.safetyMs);
    } else {
      this.passDue = false;
      this.endedSinceCheck = false;
      await this.drained(run.runId);
      if (!this.stopped) await this.waitDrained();
    }
    return false;
  }

  /**
   * Waits with nothing to offer, until the earliest retry is due or a poke. Each job end on the
   * way re-checks completion only: the jobs left are live calls, not ones to read.
   */
  private async waitDrained(): Promise<void> {
    const until = this.ctx.now() + (await this.nextRetryDelay());
    while (!this.stopped && !this.passDue) {
      if (!this.endedSinceCheck) await this.sleep(Math.max(0, until - this.ctx.now()));
      if (this.stopped || this.passDue) return;
      this.endedSinceCheck = false;
      await this.drained(this.run.runId);
    }
  }

  /** Asks the limiter for slots for `jobIds` in one call, dials the granted ones, waits for the rest. */
  private async offer(jobIds: string[]): Promise<void> {
    const { ctx, run } = this;
    const key = run.businessId;
    const askedAt = ctx.now();
    const slot = await ctx.limiter.acquireMany(key, jobIds, run.concurrency, ctx.leaseMs);
    // The log reads as the steps happened, one job at a time.
    let active = slot.active - slot.statuses.filter((s) => s === 'acquired').length;
    let queueLength = slot.queueLength - slot.statuses.filter((s) => s === 'enqueued').length;
    for (const [i, jobId] of jobIds.entries()) {
      const status = slot.statuses[i];
      const fields = { business_id: key, job_id: jobId, run_id: run.runId, limit: slot.limit };
      this.overdue.delete(jobId);
      if (status === 'acquired') {
        active += 1;
        this.waiting.delete(jobId);
        ctx.logger.info({ ...fields, active }, 'OUTBOUND_ENQUEUE');
        this.dispatcher.dialHeld(key, jobId, { active, limit: slot.limit, fence: slot.fence, askedAt });
        this.progress = true;
      } else if (status === 'inflight') {
        this.waiting.delete(jobId);
      } else {
        if (status === 'enqueued') {
          queueLength += 1;
          ctx.logger.info({ ...fields, active, queue_len: queueLength }, 'OUTBOUND_QUEUED');
          emit(ctx, 'job:waiting', {
            jobId,
            runId: run.runId,
            businessId: key,
            active,
            limit: slot.limit,
            queueLength,
          });
        }
        this.awaitPromotion(jobId, askedAt);
      }
    }
  }

  /**
   * Waits in the background for the hand-off of a job in line: whoever releases the slot dials
   * it, and this feeder then has room for the next job. A timeout only marks it overdue.
   */
  private awaitPromotion(jobId: string, askedAt: number): void {
    const ask = {};
    this.waiting.set(jobId, ask);
    void this.dispatcher.waiters.wait(jobId, this.safetyMs, askedAt).then((promoted) => {
      if (this.waiting.get(jobId) !== ask) return;
      if (promoted) {
        this.waiting.delete(jobId);
        this.progress = true;
      } else if (!this.stopped) {
        this.overdue.add(jobId);
      }
      this.wakeUp();
    });
  }

  /** Takes the run's waiting jobs out of the business's line (the feeder stopped). */
  private async leaveLine(): Promise<void> {
    const jobIds = [...this.waiting.keys()];
    this.waiting.clear();
    this.overdue.clear();
    if (jobIds.length === 0) return;
    try {
      await this.ctx.limiter.remove(this.run.businessId, jobIds);
    } catch (err) {
      // Left in line: a later promotion's claim fails (the run is not running) and passes it on.
      this.ctx.logger.warn({ err, run_id: this.run.runId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    }
  }

  private async nextRetryDelay(): Promise<number> {
    const at = await this.ctx.store.nextRetryAt(this.run.runId);
    return at === undefined ? this.safetyMs : Math.min(this.safetyMs, Math.max(0, at - this.ctx.now()));
  }

  /** Pauses until {@link RunFeeder.poke}, or until `ms` passed when given. */
  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const { clock } = this.ctx;
      const timer = ms === undefined ? undefined : clock.setTimeout(() => this.poke(), ms);
      this.wake = () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        resolve();
      };
      if (this.stopped) this.poke();
    });
  }
}
