import { ScopeMovedError } from '../errors.js';
import type { AcquireManyResult } from '../limiter/slot-limiter.js';
import type { RunWindows } from '../policy/lead-windows.js';
import type { QueuedJobRef, RunRecord } from '../store/job-store.js';
import type { Dispatcher } from './dispatcher.js';
import type { QueueContext } from './queue-context.js';
import { emit } from './queue-context.js';

/** Jobs read from the store per page. */
const PAGE_SIZE = 256;
/** Longest pause after a backend failure before the feeder tries again. */
const MAX_BACKOFF_MS = 5000;

/**
 * Where a feeder stands. Each pass reads the run's queued jobs in `seq` order and offers those
 * not in line yet; between passes the feeder waits for whatever can change its answer.
 *
 * - `offering`: reading the pass's pages and offering their jobs, up to the run's room in line.
 * - `full`: the run has `concurrency` jobs in line: waiting for one of them to be handed a slot
 *   (a feeder awaiting hand-offs stays in that phase, as it does when backing off).
 * - `awaiting-hand-offs`: the pass found only jobs already in line: nothing to read until a hand-off.
 * - `resting`: every job offered is held by a slot nobody dials yet (the reconciler resolves it):
 *   waits a safety period before the next pass.
 * - `drained`: nothing left to offer: each job end re-checks completion, until a retry is due.
 * - `backing-off`: the database or the limiter failed: the next try waits, with backoff.
 * - `stopped`: the loop has ended (or is ending) and the run's jobs leave the line.
 */
export type FeederPhase =
  | 'offering'
  | 'full'
  | 'awaiting-hand-offs'
  | 'resting'
  | 'drained'
  | 'backing-off'
  | 'stopped';

/** One pass over the run's queued jobs. */
interface Pass {
  /** Jobs up to this `seq` were offered in the pass. */
  cursor: number;
  /** The rest of the page being offered. */
  page: QueuedJobRef[];
  /** The page being offered is the pass's last (it was short). */
  lastPage: boolean;
  /** The pass found jobs that were not in line yet. */
  offered: boolean;
  /** The pass dialed or handed off anything (a pass that did not must not spin). */
  progress: boolean;
}

const newPass = (): Pass => ({ cursor: 0, page: [], lastPage: false, offered: false, progress: false });

/**
 * Feeds one run's queued jobs to the limiter, in order, in the process that owns the run. It
 * keeps up to `concurrency` of the run's jobs in its line, asked for in one limiter
 * call per batch, so that each freed slot goes to the next job in the same step that frees it.
 * `acquired` dials now; `enqueued` and `already_queued` wait for that job's hand-off (an event,
 * never a poll: waiting is never skipping); `inflight` means another holder dials it, so move on.
 */
export class RunFeeder {
  private current: FeederPhase = 'offering';
  private stopped = false;
  private wake: (() => void) | undefined;
  /** The run's jobs waiting in its line -> the ask they wait on. */
  private readonly waiting = new Map<string, object>();
  /** Waiting jobs whose safety timeout passed: asked for again, in case their line was lost. */
  private readonly overdue = new Set<string>();
  /** The pass under way. */
  private pass: Pass = newPass();
  /** Set by {@link RunFeeder.poke} (and pause timers): whatever the feeder waits for, start a pass. */
  private passDue = false;
  /** A job of the run ended since the last completion check. */
  private endedSinceCheck = false;
  private readonly safetyMs: number;
  /** The run's calling windows, when it has one. */
  private readonly windows: RunWindows | undefined;
  /** The limiter scope the run's jobs last asked in. */
  private key: string | undefined;
  /** Resolves when the loop has exited and the run's jobs have left the line. */
  readonly done: Promise<void>;

  /**
   * @param ctx - the queue's shared adapters and settings
   * @param dispatcher - places calls for jobs granted slots
   * @param run - the run to feed (its concurrency and priority are kept current by {@link RunFeeder.refresh})
   * @param drained - called each time the run has no job left to offer (completion check)
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly dispatcher: Dispatcher,
    private run: RunRecord,
    private readonly drained: (runId: string) => Promise<void>,
  ) {
    this.safetyMs = Math.max(1000, Math.floor(ctx.leaseMs / 3));
    this.windows = dispatcher.windows.know(run);
    this.done = this.loop();
  }

  /** Whether {@link RunFeeder.stop} was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Where the feeder stands (see {@link FeederPhase}). */
  get phase(): FeederPhase {
    return this.current;
  }

  /**
   * Takes a fresher read of the run (each lease renewal brings one): the feeder keeps as many jobs
   * in line as its concurrency. The limiter's copy of the run's limit is `setRunConcurrency`'s to
   * change, never a read's (a read made before a change may come after it).
   * @param run - the run as just read
   */
  refresh(run: RunRecord): void {
    const grew = run.concurrency > this.run.concurrency;
    this.run = run;
    if (grew) this.poke();
  }

  /** The business of the run fed. */
  get businessId(): string {
    return this.run.businessId;
  }

  /** The limiter scope the run's jobs last asked in, once they asked. */
  get scope(): string | undefined {
    return this.key;
  }

  /** Asks again at once for every job kept in line (their line was lost: the business moved). */
  askAgain(): void {
    for (const jobId of this.waiting.keys()) this.overdue.add(jobId);
    this.poke();
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
        if (this.current !== 'awaiting-hand-offs') this.current = 'backing-off';
        await this.sleep(delay);
      }
    }
    this.current = 'stopped';
    await this.leaveLine();
  }

  /** Asks again for overdue jobs, or offers the next jobs while the run has room in the line. */
  private async step(): Promise<void> {
    const { pass } = this;
    if (this.current !== 'awaiting-hand-offs') this.current = 'offering';
    if (this.overdue.size > 0) {
      await this.offer([...this.overdue]);
      return;
    }
    const room = this.run.concurrency - this.waiting.size;
    if (room <= 0) {
      // Full while awaiting hand-offs stays awaiting them: nothing to read until one comes.
      if (this.current !== 'awaiting-hand-offs') this.current = 'full';
      await this.sleep();
      return;
    }
    if (pass.page.length === 0 && !(await this.nextPage())) return;
    const batch = pass.page.splice(0, room);
    await this.offer(batch.map((job) => job.jobId));
    pass.cursor = batch[batch.length - 1]?.seq ?? pass.cursor;
  }

  /**
   * Reads the next page of the pass, or ends the pass (completion check, pause) when there is none.
   * @returns whether a page with jobs to offer was read
   */
  private async nextPage(): Promise<boolean> {
    const { ctx, run, pass } = this;
    if (this.current === 'awaiting-hand-offs') {
      if (this.waiting.size > 0 && !this.passDue) {
        await this.sleep();
        return false;
      }
      this.current = 'offering';
    }
    if (pass.cursor === 0) this.passDue = false;
    const now = ctx.now();
    const rows = pass.lastPage
      ? []
      : await ctx.store.nextQueuedJobs(run.runId, pass.cursor, PAGE_SIZE, now, this.windows !== undefined);
    if (rows.length > 0) {
      pass.lastPage = rows.length < PAGE_SIZE;
      // Jobs outside their window wait for it, without a slot: their run's wake-up is its earliest.
      const due = this.windows
        ? await this.dispatcher.windows.holdBack(run.runId, this.windows, rows, now)
        : rows;
      // Jobs in line, and jobs handed a slot whose claim is being written, still read as queued:
      // skip them. (Offered again, a job whose call ended meanwhile would wait in line for nothing.)
      pass.page = due.filter(
        (row) => !this.waiting.has(row.jobId) && !this.dispatcher.attempts.isClaiming(row.jobId),
      );
      if (pass.page.length === 0) pass.cursor = rows[rows.length - 1]?.seq ?? pass.cursor;
      else pass.offered = true;
      return pass.page.length > 0;
    }
    // The pass is over: the next one starts from the run's first job.
    this.pass = newPass();
    if (this.waiting.size > 0) {
      // Reading again now would find only jobs in line: wait for their hand-offs first.
      this.current = 'awaiting-hand-offs';
    } else if (pass.offered) {
      // Every job offered is held by a slot nobody dials yet: the reconciler will resolve it.
      this.current = 'resting';
      // Unless poked since this pass began (a job put back in line meanwhile): read again now.
      if (!pass.progress && !this.passDue) await this.sleep(this.safetyMs);
    } else {
      this.current = 'drained';
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

  /**
   * Asks the limiter for slots for `jobIds` in one call (in the business's scope, read again when
   * the business moved to or from a group), dials the granted ones, waits for the rest.
   */
  private async offer(jobIds: string[]): Promise<void> {
    const { ctx, run } = this;
    const askedAt = ctx.now();
    const ask = {
      business: run.businessId,
      run: run.runId,
      runLimit: run.concurrency,
      priority: run.priority,
    };
    let slot: AcquireManyResult;
    let key = (await ctx.businesses.view(run.businessId)).scope;
    try {
      slot = await ctx.limiter.acquireMany(key, jobIds, ask, ctx.leaseMs);
    } catch (err) {
      if (!(err instanceof ScopeMovedError)) throw err;
      ctx.businesses.forget([run.businessId]);
      key = (await ctx.businesses.view(run.businessId)).scope;
      slot = await ctx.limiter.acquireMany(key, jobIds, ask, ctx.leaseMs);
    }
    if (this.key !== undefined && this.key !== key) {
      // The business moved: its slots held here live in the new scope now (it was read again).
      this.dispatcher.attempts.rekey(run.businessId, key);
      await this.leaveScope(this.key);
    }
    this.key = key;
    this.dispatcher.slots.dialGranted(key, slot.promoted, slot.fence, askedAt);
    if (slot.queueLength > 0) this.dispatcher.slots.sawLine(key, true);
    // The log reads as the steps happened, one job at a time.
    const granted = slot.statuses.filter((s) => s === 'acquired').length;
    let active = slot.active - granted;
    let runActive = slot.runActive - granted;
    let groupActive = slot.groupActive === undefined ? undefined : slot.groupActive - granted;
    let queueLength = slot.queueLength - slot.statuses.filter((s) => s === 'enqueued').length;
    const limits = { limit: slot.limit, run_limit: slot.runLimit, group_limit: slot.groupLimit };
    for (const [i, jobId] of jobIds.entries()) {
      const status = slot.statuses[i];
      const fields = { business_id: run.businessId, job_id: jobId, run_id: run.runId, ...limits };
      this.overdue.delete(jobId);
      if (status === 'acquired') {
        active += 1;
        runActive += 1;
        if (groupActive !== undefined) groupActive += 1;
        this.waiting.delete(jobId);
        ctx.logger.info(
          { ...fields, active, run_active: runActive, group_active: groupActive },
          'OUTBOUND_ENQUEUE',
        );
        this.dispatcher.dialHeld(key, jobId, {
          active,
          limit: slot.limit,
          fence: slot.fence,
          askedAt,
          business: run.businessId,
        });
        this.pass.progress = true;
      } else if (status === 'inflight') {
        this.waiting.delete(jobId);
      } else {
        if (status === 'enqueued') {
          queueLength += 1;
          ctx.logger.info(
            { ...fields, active, run_active: runActive, group_active: groupActive, queue_len: queueLength },
            'OUTBOUND_QUEUED',
          );
          emit(ctx, 'job:waiting', {
            jobId,
            runId: run.runId,
            businessId: run.businessId,
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
    this.dispatcher.askers.asked(jobId, this.run.businessId);
    void this.dispatcher.waiters.wait(jobId, this.safetyMs, askedAt).then((promoted) => {
      if (this.waiting.get(jobId) !== ask) return;
      if (promoted) {
        this.waiting.delete(jobId);
        this.pass.progress = true;
      } else if (!this.stopped) {
        this.dispatcher.askers.forget(jobId);
        this.overdue.add(jobId);
      }
      this.wakeUp();
    });
  }

  /** Takes the run's waiting jobs out of its line, and the run out of its scope (the feeder stopped). */
  private async leaveLine(): Promise<void> {
    this.dispatcher.windows.forget(this.run.runId);
    if (this.key !== undefined) await this.leaveScope(this.key);
  }

  /**
   * Takes the run's waiting jobs out of the line of scope `key` and retires the run there (its
   * business moved, or the feeder stopped).
   */
  private async leaveScope(key: string): Promise<void> {
    const jobIds = [...this.waiting.keys()];
    for (const jobId of jobIds) this.dispatcher.askers.forget(jobId);
    this.waiting.clear();
    this.overdue.clear();
    try {
      await this.ctx.limiter.remove(key, jobIds, this.run.runId);
    } catch (err) {
      // Left in line: a later promotion's claim fails (the run is not running) and passes it on.
      this.ctx.logger.warn({ err, run_id: this.run.runId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    }
  }

  private async nextRetryDelay(): Promise<number> {
    const at = await this.ctx.store.nextRetryAt(this.run.runId, this.ctx.now());
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
