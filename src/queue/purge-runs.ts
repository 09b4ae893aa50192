import { setImmediate as nextTurn } from 'node:timers/promises';
import { ValidationError, type ValidationIssue } from '../errors.js';
import type { QueueContext } from './queue-context.js';

/** Options of {@link OutboundQueue.purge}. */
export interface PurgeOptions {
  /**
   * Age in ms: runs stopped or completed more than this long ago are deleted, with their jobs.
   * With a `contactCap`, at least its `perMs` (the purged calls no longer count toward it).
   */
  olderThan: number;
  /** Most jobs deleted per statement (1 to 2000; default 500); the event loop turns between batches. */
  batchSize?: number;
}

/** What {@link OutboundQueue.purge} deleted. */
export interface PurgeResult {
  /** Runs deleted, with all their jobs. */
  runs: number;
  /** Jobs deleted (of those runs). */
  jobs: number;
}

const DEFAULT_BATCH = 500;
const MAX_BATCH = 2000;
/** Runs read per listing. */
const RUNS_PER_LISTING = 100;

function checkPurgeOptions(ctx: QueueContext, options: PurgeOptions): Required<PurgeOptions> {
  const { olderThan, batchSize = DEFAULT_BATCH } = options ?? ({} as PurgeOptions);
  const issues: ValidationIssue[] = [];
  if (!Number.isSafeInteger(olderThan) || olderThan < 0) {
    issues.push({ field: 'olderThan', message: 'must be a whole number of ms >= 0' });
  } else if (ctx.contactCap && olderThan < ctx.contactCap.perMs) {
    issues.push({
      field: 'olderThan',
      message: `must be at least contactCap.perMs (${ctx.contactCap.perMs}): the cap counts the calls of that period`,
    });
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
    issues.push({ field: 'batchSize', message: `must be an integer from 1 to ${MAX_BATCH}` });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { olderThan, batchSize };
}

/**
 * Deletes the runs finished more than `olderThan` ms ago, and their jobs, a batch of jobs per
 * transaction with a turn of the event loop between batches, so dispatch goes on meanwhile. A run
 * stopped without hang-up waits until its last call ended. Runs being purged can read fewer jobs.
 */
export async function purgeRuns(ctx: QueueContext, options: PurgeOptions): Promise<PurgeResult> {
  const { olderThan, batchSize } = checkPurgeOptions(ctx, options);
  const before = ctx.now() - olderThan;
  const result: PurgeResult = { runs: 0, jobs: 0 };
  for (;;) {
    const runIds = await ctx.store.finishedRuns(before, RUNS_PER_LISTING);
    let deleted = 0;
    for (const runId of runIds) {
      for (;;) {
        const purged = await ctx.store.purgeRunJobs(runId, batchSize);
        result.jobs += purged.jobs;
        await nextTurn();
        if (purged.runDeleted) deleted += 1;
        if (purged.runDeleted || purged.jobs < batchSize) break;
      }
    }
    result.runs += deleted;
    // A run not deleted (a job of it came back to life meanwhile) would be listed again: stop.
    if (runIds.length < RUNS_PER_LISTING || deleted < runIds.length) return result;
  }
}
