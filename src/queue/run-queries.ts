import { NotFoundError, ValidationError } from '../errors.js';
import type { JobStore, RunRecord } from '../store/job-store.js';
import {
  JOB_STATUSES,
  type Job,
  type ListJobsOptions,
  type ListRunsOptions,
  RUN_STATUSES,
  type RunSummary,
} from '../types.js';
import { runSummary } from './run-records.js';

/** Largest page `listJobs` and `listRuns` serve. */
const MAX_PAGE = 1000;
/** Page size when none is given. */
const DEFAULT_PAGE = 100;

function pageSize(limit: number | undefined): number {
  const size = limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
    throw new ValidationError([{ field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE}` }]);
  }
  return size;
}

/** A status filter as a list, every entry checked against the statuses that exist. */
function statusFilter<S extends string>(status: S | readonly S[] | undefined, known: readonly S[]): S[] {
  const statuses: S[] =
    status === undefined ? [] : typeof status === 'string' ? [status as S] : [...(status as readonly S[])];
  const bad = statuses.filter((s) => !known.includes(s));
  if (bad.length > 0)
    throw new ValidationError([{ field: 'status', message: `unknown status ${bad.join(', ')}` }]);
  return statuses;
}

/**
 * The read side of the public API: runs and jobs as the host sees them, with their arguments
 * checked. Reads only; nothing here changes a run.
 */
export class RunQueries {
  /**
   * @param store - the durable record
   * @param now - the queue's clock, for what waits
   */
  constructor(
    private readonly store: JobStore,
    private readonly now: () => number,
  ) {}

  /**
   * Reads a run's record.
   * @throws {@link NotFoundError} for an unknown run
   */
  async requireRun(runId: string): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (!run) throw new NotFoundError(`run ${runId}`);
    return run;
  }

  /** The summary of a run read just now. */
  async summarize(run: RunRecord): Promise<RunSummary> {
    const [counts, waiting] = await Promise.all([
      this.store.countJobs(run.runId),
      this.store.countWaiting(run.runId, this.now()),
    ]);
    return { ...runSummary(run, counts), waiting };
  }

  /**
   * A page of a run's jobs in lead order.
   * @throws {@link ValidationError} for a bad page size or status
   * @throws {@link NotFoundError} for an unknown run
   */
  async listJobs(runId: string, options: ListJobsOptions): Promise<Job[]> {
    const limit = pageSize(options.limit);
    statusFilter(options.status, JOB_STATUSES);
    await this.requireRun(runId);
    return this.store.listJobs(runId, { ...options, limit });
  }

  /**
   * A page of runs, newest first, with their counts (two reads whatever the page size).
   * @throws {@link ValidationError} for a bad page size, status or cursor
   */
  async listRuns(options: ListRunsOptions): Promise<RunSummary[]> {
    const limit = pageSize(options.limit);
    const statuses = statusFilter(options.status, RUN_STATUSES);
    if (options.after !== undefined && !(await this.store.getRun(options.after))) {
      throw new ValidationError([{ field: 'after', message: `no run ${options.after}` }]);
    }
    const runs = await this.store.listRuns({
      businessId: options.businessId,
      statuses,
      limit,
      after: options.after,
    });
    const counts = await this.store.countJobsByRun(runs.map((run) => run.runId));
    return runs.map((run) => runSummary(run, counts.get(run.runId) ?? {}));
  }

  /**
   * Reads one job.
   * @throws {@link NotFoundError} for an unknown job
   */
  async getJob(jobId: string): Promise<Job> {
    const job = typeof jobId === 'string' ? await this.store.getJob(jobId) : undefined;
    if (!job) throw new NotFoundError(`job ${jobId}`);
    return job;
  }
}
