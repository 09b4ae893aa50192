import type { BusinessLoad } from '../store/business-record.js';
import type { BusinessSummary } from '../types.js';

/**
 * A business's live calls against its limit, as the page shows them (`active / limit`): the
 * store's type, the one `JobStore.businessLoads` and the metrics read.
 */
export type { BusinessLoad };

/**
 * The load of a business, read from its summary: the one place the dashboard computes it. The
 * limit is the business's own concurrency, else the highest concurrency of its live runs, 0 with
 * neither: this must stay the rule `KyselyStore.businessLoads` computes in SQL
 * (src/store/kysely/kysely-business-loads.ts, `own_limit ?? max(live run concurrency) ?? 0`);
 * test/dashboard/business-load.test.ts holds the two to one answer. `active` and `waiting` are
 * `getBusiness`'s, over the business's live runs.
 * @param summary - what `getBusiness` answered
 * @returns its live calls, limit and waiting jobs
 */
export function businessLoad(summary: BusinessSummary): BusinessLoad {
  const limit = summary.concurrency ?? Math.max(0, ...summary.runs.map((run) => run.concurrency));
  return { businessId: summary.businessId, active: summary.active, limit, waiting: summary.waiting };
}
