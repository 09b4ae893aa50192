import type { BusinessSummary } from '../types.js';

/** A business's live calls against its limit, as the page shows them (`active / limit`). */
export interface BusinessLoad {
  /** The business. */
  businessId: string;
  /** Its jobs that hold a call now, over all its runs. */
  active: number;
  /**
   * The concurrency it is held to: its own (`setBusinessLimits`), else the highest concurrency of
   * its live runs, 0 when it has neither.
   */
  limit: number;
  /** Its queued jobs, over all its live runs. */
  waiting: number;
}

/**
 * The load of a business, read from its summary.
 * @param summary - what `getBusiness` answered
 * @returns its live calls, limit and waiting jobs
 */
export function businessLoad(summary: BusinessSummary): BusinessLoad {
  const limit = summary.concurrency ?? Math.max(0, ...summary.runs.map((run) => run.concurrency));
  return { businessId: summary.businessId, active: summary.active, limit, waiting: summary.waiting };
}
