import type { RunStatus } from '../../types.js';
import { LIVE_JOB_STATUSES } from '../../types.js';
import type { BusinessLoad } from '../job-store.js';
import { toNumber } from './kysely-row-mappers.js';
import type { AnyDb, TableNames } from './kysely-schema.js';

const LIVE_RUN_STATUSES: readonly RunStatus[] = ['running', 'paused'];

/**
 * Each business with a live run, with its live calls, waiting jobs and limit over its live runs,
 * in one grouped statement: the live runs, their unfinished jobs (through the run-status index)
 * and the business's own limit, if any.
 */
export async function businessLoads(db: AnyDb, t: TableNames): Promise<BusinessLoad[]> {
  const live = [...LIVE_JOB_STATUSES];
  const rows = await db
    .selectFrom(`${t.runs} as r`)
    .leftJoin(`${t.jobs} as j`, (join) =>
      join.onRef('j.run_id', '=', 'r.id').on('j.status', 'in', ['queued', ...live]),
    )
    .leftJoin(`${t.businesses} as b`, 'b.business_id', 'r.business_id')
    .select((eb) => [
      'r.business_id as business_id',
      eb.fn.count(eb.case().when('j.status', 'in', live).then(1).end()).as('active'),
      eb.fn.count(eb.case().when('j.status', '=', 'queued').then(1).end()).as('waiting'),
      eb.fn.max('r.concurrency').as('run_limit'),
      eb.fn.max('b.concurrency').as('own_limit'),
    ])
    .where('r.status', 'in', [...LIVE_RUN_STATUSES])
    .groupBy('r.business_id')
    .orderBy('r.business_id')
    .execute();
  return rows.map((row) => ({
    businessId: row.business_id as string,
    active: toNumber(row.active),
    waiting: toNumber(row.waiting),
    limit: toNumber(row.own_limit ?? row.run_limit),
  }));
}
