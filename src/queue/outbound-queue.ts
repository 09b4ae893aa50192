import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { Dialer } from '../dialer/dialer.js';
import { ClosedError, InvalidStateError, ValidationError } from '../errors.js';
import type { SlotLimiter } from '../limiter/slot-limiter.js';
import { type Logger, silentLogger } from '../logger.js';
import { MetricsRecorder } from '../observability/metrics-recorder.js';
import type { QueueMetricsSnapshot } from '../observability/queue-metrics.js';
import type { ContactCap } from '../policy/contact-cap.js';
import type { JobStore } from '../store/job-store.js';
import type {
  BusinessLimitsInput,
  BusinessSummary,
  CallEvent,
  GroupLimits,
  GroupLimitsInput,
  Job,
  ListJobsOptions,
  ListRunsOptions,
  RunSummary,
  StartRunInput,
  StartRunResult,
  StopOptions,
  WaitForRunOptions,
} from '../types.js';
import { BusinessControls } from './business-controls.js';
import { BusinessDirectory } from './business-directory.js';
import { Dispatcher } from './dispatcher.js';
import { Periodic } from './periodic.js';
import { type PurgeOptions, type PurgeResult, purgeRuns } from './purge-runs.js';
import { emit, type QueueContext, type RetryPolicy } from './queue-context.js';
import type { OutboundQueueEventName, OutboundQueueEvents } from './queue-events.js';
import { queueSettings } from './queue-options.js';
import { Reconciler } from './reconciler.js';
import { RunControls } from './run-controls.js';
import { RunQueries } from './run-queries.js';
import { RunSupervisor } from './run-supervisor.js';
import { startRunFromInput } from './start-run.js';
import type { SuppressCheck } from './suppression.js';
import { waitForRun } from './wait-for-run.js';

/** Options of {@link OutboundQueue}. */
export interface OutboundQueueOptions {
  /** The durable record of runs and jobs (e.g. `KyselyStore`). */
  store: JobStore;
  /** Concurrency slots shared by every process (`RedisSlotLimiter`, or `MemorySlotLimiter` for one process). */
  limiter: SlotLimiter;
  /** Places the calls (`TwilioDialer`, `SimulatedDialer`, or the host's own). */
  dialer: Dialer;
  /** pino-compatible logger; silent by default. */
  logger?: Logger;
  /** Lease of slots and of run ownership, renewed by their holders (default 30,000 ms). */
  leaseMs?: number;
  /** A live call with no event for this long is checked with `dialer.fetchCall` (default one hour). */
  silentCallMs?: number;
  /** Retries of transient dial failures. */
  retry?: Partial<RetryPolicy>;
  /**
   * Caps dial starts per second across all processes sharing the limiter (a Twilio account's CPS).
   * Starts are spaced, never rejected, 10% wider than 1/rate so that up to 100 ms of network
   * jitter cannot put one start too many into a second as the provider counts it.
   */
  dialsPerSecond?: number;
  /**
   * The host's do-not-call check (a DNC list, an opt-out table), asked about each job after its
   * claim and before its call. A job it suppresses ends `canceled` with `errorCode: 'SUPPRESSED'`
   * and the reason as `errorMessage`, without a call. A check that throws is an outage: the job
   * waits and is asked about again. See docs/policy.md.
   */
  suppress?: SuppressCheck;
  /** At most `count` calls of one number per business within `perMs`, over all runs. See docs/policy.md. */
  contactCap?: ContactCap;
  /**
   * The clock every timer of the engine goes through (default: `Date.now` and Node's timers). A
   * test or simulation gives a virtual one to control time.
   */
  clock?: Clock;
  /** Id generator for run ids and lock tokens, for tests (default `crypto.randomUUID`). */
  newId?: () => string;
}

/** What {@link OutboundQueue.handleCallEvent} did with an event. */
export interface CallEventResult {
  /** False for a duplicate, late, out-of-order, stale or forged event: nothing changed. */
  applied: boolean;
}

/**
 * Places bulk outbound calls for many businesses at once: never more than a business's concurrency
 * limit at a time, never the same call twice, and never stalling. Any number of processes may run
 * one each over the same store and limiter.
 *
 * @example
 * ```ts
 * const queue = new OutboundQueue({ store: new KyselyStore({ db }), limiter: new MemorySlotLimiter(), dialer: new SimulatedDialer() });
 * await queue.migrate();
 * await queue.start();
 * const run = await queue.startRun({ businessId: '4', concurrency: 3, leads: [{ to: '+14155550101' }] });
 * await queue.waitForRun(run.runId);
 * await queue.close();
 * ```
 */
export class OutboundQueue {
  private readonly ctx: QueueContext;
  private readonly dispatcher: Dispatcher;
  private readonly reconciler: Reconciler;
  private readonly runs: RunSupervisor;
  private readonly reads: RunQueries;
  private readonly controls: RunControls;
  private readonly business: BusinessControls;
  private readonly recorder: MetricsRecorder;
  private started = false;
  private closed = false;
  /** Renews run ownership and slot leases, every third of a lease. */
  private readonly renewals: Periodic;
  /** Resolves expired slots and silent calls (dispatching processes only), on a loop of its own. */
  private readonly reconciling: Periodic;
  private unsubscribe: (() => void) | undefined;

  /**
   * @param options - the adapters and settings
   * @throws {@link ValidationError} for out-of-range settings
   */
  constructor(options: OutboundQueueOptions) {
    const { leaseMs, silentCallMs, retry, dialsPerSecond, clock, contactCap } = queueSettings(options);
    this.ctx = {
      store: options.store,
      limiter: options.limiter,
      dialer: options.dialer,
      logger: options.logger ?? silentLogger,
      emitter: new EventEmitter(),
      processId: randomUUID(),
      leaseMs,
      retry,
      dialsPerSecond,
      // A changed dial rate reaches the other processes within a lease.
      businesses: new BusinessDirectory(options.store, () => clock.now(), leaseMs),
      suppress: options.suppress,
      contactCap,
      clock,
      now: () => clock.now(),
      newId: options.newId ?? randomUUID,
    };
    this.ctx.emitter.setMaxListeners(0);
    this.recorder = new MetricsRecorder(this.ctx.emitter, this.ctx.now);
    this.dispatcher = new Dispatcher(this.ctx, {
      jobEnded: (job, release) => {
        // Back in line for a retry: its feeder sets its wake-up.
        if (job.status === 'queued') this.runs.jobRequeued(job.runId);
        else this.runs.jobEnded(job.runId, job.businessId, release.active === 0 && release.queueLength === 0);
      },
      jobRequeued: (runId) => this.runs.jobRequeued(runId),
      runBlocked: (runId, error) => this.runs.block(runId, error),
    });
    this.runs = new RunSupervisor(this.ctx, this.dispatcher);
    this.reads = new RunQueries(this.ctx.store, () => this.ctx.now());
    this.reconciler = new Reconciler(
      this.ctx,
      this.dispatcher,
      (runs) => this.runs.ownRuns(runs),
      silentCallMs,
    );
    this.controls = new RunControls(this.ctx, {
      dispatcher: this.dispatcher,
      runs: this.runs,
      reads: this.reads,
      reconciler: this.reconciler,
      started: () => this.started,
    });
    this.business = new BusinessControls(this.ctx, this.dispatcher, this.runs, this.reads, this.controls);
    this.ctx.limiter.setHolderSource((key) => this.ctx.store.fenceSlots(key));
    const period = Math.max(50, Math.floor(leaseMs / 3));
    const failed = (err: unknown) => {
      this.ctx.logger.warn({ err }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      emit(this.ctx, 'error', err instanceof Error ? err : new Error(String(err)));
    };
    // Renewals run from the start: a process that only handles call events still dials
    // hand-offs, and must keep those slots' leases alive. Idle, a renewal sends nothing to Redis.
    this.renewals = new Periodic(clock, period, () => this.reconciler.renew(this.started), failed);
    this.reconciling = new Periodic(clock, period, () => this.reconciler.reconcile(), failed);
    this.renewals.start();
  }

  /** Creates or upgrades the store's tables. Idempotent; safe from several processes at once. */
  async migrate(): Promise<void> {
    await this.ctx.store.migrate();
  }

  /**
   * Makes this process dispatch: it feeds the runs it starts or adopts, renews its leases and
   * reconciles slots left by dead processes. Resolves after the first reconciliation pass.
   */
  async start(): Promise<void> {
    this.assertOpen();
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.ctx.limiter.subscribe(({ key, promoted, handedOver, fence }) => {
      this.dispatcher.waiters.promoted(promoted, this.ctx.now());
      if (handedOver) this.dispatcher.takeOver(key, promoted, fence);
    });
    // Fresh: a renewal under way began before this process dispatched, and adopted nothing.
    await this.renewals.runFresh();
    await this.reconciling.runNow();
    this.reconciling.start();
  }

  /**
   * Starts a run: validates every lead, then writes the run and one job per lead at once.
   * Idempotent on `runId`: the same id with the same input resolves to the run already written
   * (`created: false`) and writes nothing.
   * @param input - the business, its concurrency limit and the leads
   * @returns the run's summary, and whether this call created it
   * @throws {@link ValidationError} naming each bad row (bad number, duplicate `leadId` or `to`,
   *   bad concurrency, empty list); nothing is written then
   * @throws {@link IdempotencyConflictError} when `runId` names a run started with another input
   */
  async startRun(input: StartRunInput): Promise<StartRunResult> {
    this.assertOpen();
    const paused = (businessId: string) => this.business.isPaused(businessId);
    const { run, created } = await startRunFromInput(this.ctx, input, this.started, paused);
    if (created) emit(this.ctx, 'run:status', { runId: run.runId, status: run.status });
    if (created && this.started && run.status === 'running') this.runs.feed(run);
    return { ...(await this.reads.summarize(run)), created };
  }

  /**
   * Reads a run's status and its jobs counted per status.
   * @throws {@link NotFoundError} for an unknown run
   */
  async getRun(runId: string): Promise<RunSummary> {
    return this.reads.summarize(await this.reads.requireRun(runId));
  }

  /**
   * Pages through runs, newest first, each with its counts per job status.
   * @param options - business and status filters, page size (1 to 1000, default 100) and the
   *   cursor (`after`: the `runId` of the last run of the previous page)
   * @throws {@link ValidationError} for a bad page size, status or cursor
   */
  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    return this.reads.listRuns(options);
  }

  /**
   * Pages through a run's jobs in lead order.
   * @param options - status filter, page size (1 to 1000) and the cursor (`after`: last job id seen)
   * @throws {@link NotFoundError} for an unknown run
   */
  async listJobs(runId: string, options: ListJobsOptions = {}): Promise<Job[]> {
    return this.reads.listJobs(runId, options);
  }

  /**
   * Reads one job.
   * @throws {@link NotFoundError} for an unknown job
   */
  async getJob(jobId: string): Promise<Job> {
    return this.reads.getJob(jobId);
  }

  /**
   * Pauses a run: no new call starts; calls in progress end naturally. Idempotent.
   * @throws {@link InvalidStateError} when the run is stopped or completed
   */
  pause(runId: string): Promise<RunSummary> {
    return this.controls.pause(runId);
  }

  /**
   * Resumes a paused run. Idempotent.
   * @throws {@link InvalidStateError} when the run is stopped or completed
   */
  resume(runId: string): Promise<RunSummary> {
    return this.controls.resume(runId);
  }

  /**
   * Stops a run: waiting jobs are canceled and no call of the run is placed after this resolves;
   * calls in progress end naturally, or are hung up with `{ hangup: true }`.
   * @returns the run's summary, status `stopped` (or `completed` if it had finished before)
   */
  stop(runId: string, options: StopOptions = {}): Promise<RunSummary> {
    return this.controls.stop(runId, options);
  }

  /**
   * Sets a business's limits, shared by all its runs and applied live in every process: raising
   * `concurrency` dials waiting jobs at once; lowering it lets live calls finish and starts none
   * until they fall below it. `group` puts it in an account group (see {@link OutboundQueue.setGroupLimits}).
   * The record is replaced whole: a field left out is cleared.
   * @throws {@link ValidationError} naming each bad field; nothing is written then
   */
  setBusinessLimits(businessId: string, limits: BusinessLimitsInput): Promise<BusinessSummary> {
    return this.business.setBusinessLimits(businessId, limits);
  }

  /**
   * Sets an account group's limits, shared by its businesses on top of their own (a provider
   * account's concurrent calls and calls per second). Businesses join with `setBusinessLimits`.
   * @throws {@link ValidationError} naming each bad field; nothing is written then
   */
  setGroupLimits(group: string, limits: GroupLimitsInput): Promise<GroupLimits> {
    return this.business.setGroupLimits(group, limits);
  }

  /**
   * Changes a live run's concurrency, within its business's limit, in every process at once.
   * @throws {@link NotFoundError} for an unknown run; {@link InvalidStateError} for an ended one
   */
  setRunConcurrency(runId: string, concurrency: number): Promise<RunSummary> {
    return this.business.setRunConcurrency(runId, concurrency);
  }

  /** Reads a business's limits, its live calls and its waiting jobs per live run. */
  getBusiness(businessId: string): Promise<BusinessSummary> {
    return this.business.getBusiness(businessId);
  }

  /** Pauses every running run of a business; runs it starts meanwhile start paused. Idempotent. */
  pauseBusiness(businessId: string): Promise<BusinessSummary> {
    return this.business.pauseBusiness(businessId);
  }

  /** Resumes every paused run of a business. Idempotent. */
  resumeBusiness(businessId: string): Promise<BusinessSummary> {
    return this.business.resumeBusiness(businessId);
  }

  /** Stops every live run of a business, as {@link OutboundQueue.stop} does each. */
  stopBusiness(businessId: string, options: StopOptions = {}): Promise<RunSummary[]> {
    return this.business.stopBusiness(businessId, options);
  }

  /**
   * Applies a call event from the host's status-callback route (or a dialer's report). Duplicated,
   * late, out-of-order and forged events change nothing.
   * @throws {@link ValidationError} for an event without a job id or with an unknown status
   */
  async handleCallEvent(event: CallEvent): Promise<CallEventResult> {
    return { applied: await this.dispatcher.applyEvent(event) };
  }

  /**
   * Resolves when nothing is left to do for the run: every job is terminal.
   * @throws {@link TimeoutError} after `timeoutMs`
   */
  waitForRun(runId: string, options: WaitForRunOptions = {}): Promise<RunSummary> {
    return waitForRun(this.ctx, this.runs, (id) => this.getRun(id), runId, options);
  }

  /**
   * This process's dials, outcomes and latencies per business since the queue was constructed,
   * with every business's live calls, limit and waiting jobs read from the store (one read): what
   * `outbound-queue/opentelemetry` exports, for hosts without OpenTelemetry. See docs/observability.md.
   */
  metrics(): Promise<QueueMetricsSnapshot> {
    return this.recorder.snapshot(this.ctx.store);
  }

  /**
   * Deletes runs stopped or completed more than `olderThan` ms ago, with their jobs, in batches
   * that leave the event loop free for dispatch between them. See docs/retention.md.
   * @throws {@link ValidationError} for a bad `olderThan` or `batchSize`
   */
  purge(options: PurgeOptions): Promise<PurgeResult> {
    return purgeRuns(this.ctx, options);
  }

  /**
   * Subscribes to a queue event.
   * @param event - the event name
   * @param listener - called with the event's payload
   * @returns this queue, for chaining
   */
  on<E extends OutboundQueueEventName>(event: E, listener: (payload: OutboundQueueEvents[E]) => void): this {
    this.ctx.emitter.on(event, listener);
    return this;
  }

  /**
   * Removes a listener added with {@link OutboundQueue.on}.
   * @returns this queue, for chaining
   */
  off<E extends OutboundQueueEventName>(event: E, listener: (payload: OutboundQueueEvents[E]) => void): this {
    this.ctx.emitter.off(event, listener);
    return this;
  }

  /**
   * Stops dispatching in this process; its runs are adopted by other processes at once. Calls in
   * progress go on, and their events still count wherever they arrive.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dispatcher.close();
    this.unsubscribe?.();
    await this.runs.close();
    await this.reconciling.stop();
    // Renewed until the last dial placed here has an outcome: its slot must not run out meanwhile.
    await this.dispatcher.drain();
    await this.renewals.stop();
    if (this.started) {
      await this.ctx.store.releaseRuns(this.ctx.processId).catch((err: unknown) => {
        this.ctx.logger.warn({ err }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      });
    }
    await this.ctx.limiter.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }
}
