import { InvalidStateError, ValidationError, type ValidationIssue } from '../errors.js';
import {
  checkScopeName,
  groupScope,
  isScopeName,
  SCOPE_NAME_RULE,
  scopeOf,
} from '../limiter/limiter-scope.js';
import type { LimitChange } from '../limiter/slot-limiter.js';
import type { RunRecord } from '../store/job-store.js';
import type {
  BusinessLimitsInput,
  BusinessSummary,
  GroupLimits,
  GroupLimitsInput,
  RunStatus,
  RunSummary,
  StopOptions,
} from '../types.js';
import { LIVE_JOB_STATUSES } from '../types.js';
import type { Dispatcher } from './dispatcher.js';
import type { QueueContext } from './queue-context.js';
import type { RunControls } from './run-controls.js';
import type { RunQueries } from './run-queries.js';
import type { RunSupervisor } from './run-supervisor.js';
import { MAX_CONCURRENCY } from './validate-run-input.js';

/** Highest concurrency of a group. */
const MAX_GROUP_CONCURRENCY = 100_000;
/** Live runs of one business read per page by the business-wide calls. */
const RUN_PAGE = 1000;
const LIVE_RUN_STATUSES: readonly RunStatus[] = ['running', 'paused'];

function checkWhole(
  issues: ValidationIssue[],
  field: string,
  value: unknown,
  max: number,
  required: boolean,
): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
    issues.push({ field, message: `must be an integer from 1 to ${max} (got ${JSON.stringify(value)})` });
}

function checkRate(issues: ValidationIssue[], field: string, value: unknown): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0))
    issues.push({ field, message: `must be a number > 0 (got ${JSON.stringify(value)})` });
}

/**
 * The limits of businesses, account groups and runs, changed live, and the calls that act on
 * every run of a business. Each limit is written to the database (the record every process
 * reads) and applied in the limiter at once.
 */
export class BusinessControls {
  /**
   * @param ctx - the queue's store, limiter and clock
   * @param dispatcher - dials the jobs a raised limit promotes
   * @param runs - this process's feeders (a run fed here takes its new concurrency at once)
   * @param reads - run summaries
   * @param controls - pause, resume and stop of one run
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly dispatcher: Dispatcher,
    private readonly runs: RunSupervisor,
    private readonly reads: RunQueries,
    private readonly controls: RunControls,
  ) {}

  /**
   * Writes a business's limits and applies them live (see `OutboundQueue.setBusinessLimits`).
   * @throws {@link ValidationError} naming each bad field; nothing is written then
   */
  async setBusinessLimits(businessId: string, limits: BusinessLimitsInput): Promise<BusinessSummary> {
    checkScopeName('businessId', businessId);
    const issues: ValidationIssue[] = [];
    if (typeof limits !== 'object' || limits === null)
      throw new ValidationError([{ field: 'limits', message: 'must be an object' }]);
    checkWhole(issues, 'concurrency', limits.concurrency, MAX_CONCURRENCY, true);
    checkRate(issues, 'dialsPerSecond', limits.dialsPerSecond);
    if (limits.group !== undefined && !isScopeName(limits.group))
      issues.push({ field: 'group', message: SCOPE_NAME_RULE });
    if (issues.length > 0) throw new ValidationError(issues);
    const { ctx } = this;
    const group = limits.group ?? null;
    const { previousGroup } = await ctx.store.putBusinessLimits(
      businessId,
      { concurrency: limits.concurrency, dialsPerSecond: limits.dialsPerSecond ?? null, group },
      ctx.now(),
    );
    ctx.businesses.forget([businessId]);
    const scope = scopeOf(businessId, group);
    if (previousGroup === group) {
      await this.change(scope, { business: { id: businessId, limit: limits.concurrency } });
    } else {
      // Moved: both scopes are read again from the database, the business's live calls counted
      // in the new one only; a grant made in the old one cannot be claimed (its fence was raised).
      // Their lines are emptied: the feeders here ask again at once, those elsewhere within a
      // third of a lease.
      const keys = [scopeOf(businessId, previousGroup), scope];
      for (const key of keys) {
        await ctx.limiter.rebuild(key, await ctx.store.fenceSlots(key), ctx.leaseMs, { ifNewer: true });
      }
      this.dispatcher.attempts.rekey(businessId, scope);
      this.runs.askAgain(keys, businessId);
    }
    ctx.logger.info(
      { business_id: businessId, limit: limits.concurrency, group, dials_per_second: limits.dialsPerSecond },
      'OUTBOUND_BUSINESS_LIMITS',
    );
    return this.getBusiness(businessId);
  }

  /**
   * Writes an account group's limits and applies them live (see `OutboundQueue.setGroupLimits`).
   * @throws {@link ValidationError} naming each bad field; nothing is written then
   */
  async setGroupLimits(group: string, limits: GroupLimitsInput): Promise<GroupLimits> {
    checkScopeName('group', group);
    if (typeof limits !== 'object' || limits === null)
      throw new ValidationError([{ field: 'limits', message: 'must be an object' }]);
    const issues: ValidationIssue[] = [];
    checkWhole(issues, 'concurrency', limits.concurrency, MAX_GROUP_CONCURRENCY, false);
    checkRate(issues, 'dialsPerSecond', limits.dialsPerSecond);
    if (issues.length > 0) throw new ValidationError(issues);
    const { ctx } = this;
    const record = { concurrency: limits.concurrency ?? null, dialsPerSecond: limits.dialsPerSecond ?? null };
    await ctx.store.putGroupLimits(group, record, ctx.now());
    await this.change(groupScope(group), { group: record.concurrency });
    const businesses = await ctx.store.listGroupMembers(group);
    ctx.businesses.forget(businesses);
    ctx.logger.info(
      { group, limit: limits.concurrency, dials_per_second: limits.dialsPerSecond },
      'OUTBOUND_GROUP_LIMITS',
    );
    return { group, ...definedLimits(record), businesses };
  }

  /**
   * Changes a live run's concurrency within its business's limit (see `OutboundQueue.setRunConcurrency`).
   * @throws {@link ValidationError} for a bad concurrency
   * @throws {@link NotFoundError} for an unknown run
   * @throws {@link InvalidStateError} when the run is stopped or completed
   */
  async setRunConcurrency(runId: string, concurrency: number): Promise<RunSummary> {
    const issues: ValidationIssue[] = [];
    checkWhole(issues, 'concurrency', concurrency, MAX_CONCURRENCY, true);
    if (issues.length > 0) throw new ValidationError(issues);
    const { ctx } = this;
    const before = await this.reads.requireRun(runId);
    if (!LIVE_RUN_STATUSES.includes(before.status))
      throw new InvalidStateError(`run ${runId} is ${before.status}; its concurrency cannot change`);
    const run = (await ctx.store.setRunLimits(runId, { concurrency }, ctx.now())) ?? before;
    const { scope } = await ctx.businesses.view(run.businessId);
    await this.change(scope, {
      run: { id: runId, business: run.businessId, limit: concurrency, priority: run.priority },
    });
    this.runs.refresh(run);
    ctx.logger.info({ run_id: runId, business_id: run.businessId, concurrency }, 'OUTBOUND_RUN_CONCURRENCY');
    return this.reads.summarize(run);
  }

  /**
   * A business's limits, live calls and waiting jobs per live run (see `OutboundQueue.getBusiness`).
   * @throws {@link ValidationError} for a bad business id
   */
  async getBusiness(businessId: string): Promise<BusinessSummary> {
    checkScopeName('businessId', businessId);
    const { store } = this.ctx;
    const record = await store.getBusiness(businessId);
    const runs = await this.liveRuns(businessId);
    const counts = await store.countJobsByRun(runs.map((run) => run.runId));
    const summary: BusinessSummary = {
      businessId,
      paused: record?.paused ?? false,
      active: 0,
      waiting: 0,
      runs: [],
    };
    if (record?.concurrency != null) summary.concurrency = record.concurrency;
    if (record?.dialsPerSecond != null) summary.dialsPerSecond = record.dialsPerSecond;
    if (record?.group) {
      const group = await store.getGroup(record.group);
      summary.group = {
        group: record.group,
        ...definedLimits(group ?? { concurrency: null, dialsPerSecond: null }),
        businesses: await store.listGroupMembers(record.group),
      };
    }
    for (const run of runs) {
      const found = counts.get(run.runId) ?? {};
      const active = LIVE_JOB_STATUSES.reduce((n, s) => n + (found[s] ?? 0), 0);
      const waiting = found.queued ?? 0;
      summary.active += active;
      summary.waiting += waiting;
      const { runId, status, concurrency, priority } = run;
      summary.runs.push({ runId, status, concurrency, priority, active, waiting });
    }
    return summary;
  }

  /**
   * Pauses every running run of the business, and marks it paused: a run started while it is
   * paused starts paused. Idempotent.
   * @returns the business's summary
   */
  async pauseBusiness(businessId: string): Promise<BusinessSummary> {
    checkScopeName('businessId', businessId);
    await this.ctx.store.setBusinessPaused(businessId, true, this.ctx.now());
    for (const run of await this.liveRuns(businessId))
      if (run.status === 'running') await this.controls.pause(run.runId).catch(ignoreEnded);
    this.ctx.logger.info({ business_id: businessId }, 'OUTBOUND_BUSINESS_PAUSED');
    return this.getBusiness(businessId);
  }

  /**
   * Resumes every paused run of the business (those paused one by one too). Idempotent.
   * @returns the business's summary
   */
  async resumeBusiness(businessId: string): Promise<BusinessSummary> {
    checkScopeName('businessId', businessId);
    await this.ctx.store.setBusinessPaused(businessId, false, this.ctx.now());
    for (const run of await this.liveRuns(businessId))
      if (run.status === 'paused') await this.controls.resume(run.runId).catch(ignoreEnded);
    this.ctx.logger.info({ business_id: businessId }, 'OUTBOUND_BUSINESS_RESUMED');
    return this.getBusiness(businessId);
  }

  /**
   * Stops every live run of the business, as `stop` does each.
   * @returns the summaries of the runs stopped
   */
  async stopBusiness(businessId: string, options: StopOptions = {}): Promise<RunSummary[]> {
    checkScopeName('businessId', businessId);
    const stopped: RunSummary[] = [];
    for (const run of await this.liveRuns(businessId))
      stopped.push(await this.controls.stop(run.runId, options));
    return stopped;
  }

  /**
   * Whether a new run of the business must start paused (`pauseBusiness`).
   * @param businessId - the run's business
   */
  async isPaused(businessId: string): Promise<boolean> {
    return (await this.ctx.store.getBusiness(businessId))?.paused ?? false;
  }

  /** Applies a change of limits in the limiter and dials the jobs it promoted. */
  private async change(key: string, change: LimitChange): Promise<void> {
    const askedAt = this.ctx.now();
    const { promoted, fence } = await this.ctx.limiter.setLimits(key, change);
    this.dispatcher.slots.dialGranted(key, promoted, fence, askedAt);
  }

  /** The business's runs that read `running` or `paused`, newest first. */
  private async liveRuns(businessId: string): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.ctx.store.listRuns({
        businessId,
        statuses: LIVE_RUN_STATUSES,
        limit: RUN_PAGE,
        after,
      });
      runs.push(...page);
      if (page.length < RUN_PAGE) return runs;
      after = page[page.length - 1]?.runId;
    }
  }
}

/** A group's limits without the ones not set. */
function definedLimits(limits: { concurrency: number | null; dialsPerSecond: number | null }): {
  concurrency?: number;
  dialsPerSecond?: number;
} {
  const out: { concurrency?: number; dialsPerSecond?: number } = {};
  if (limits.concurrency !== null) out.concurrency = limits.concurrency;
  if (limits.dialsPerSecond !== null) out.dialsPerSecond = limits.dialsPerSecond;
  return out;
}

/** A run that ended between the listing and the change is left as it is. */
function ignoreEnded(err: unknown): void {
  if (!(err instanceof InvalidStateError)) throw err;
}
