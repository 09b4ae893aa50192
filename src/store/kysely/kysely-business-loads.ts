import { sql } from 'kysely';
import type { RunStatus } from '../../types.js';
import { LIVE_JOB_STATUSES } from '../../types.js';
import type { BusinessLoad } from '../job-store.js';
import { toNumber } from './kysely-row-mappers.js';
import type { AnyDb, TableNames } from './kysely-schema.js';

/** A count as the drivers return it (PostgreSQL's bigint as a string). */
type Count = number | string | bigint;

const LIVE_RUN_STATUSES: readonly RunStatus[] = ['running', 'paused'];

/**
 * Each business with a live run or a live call, in one grouped statement over two parts:
 * - its queued jobs and highest run concurrency over its live runs (the live runs through the
 *   run-status index, their queued jobs through the jobs' run-status index);
 * - its live calls over all its runs, stopped ones included: a run stopped without hang-up keeps
 *   its calls up and their slots held. Led by the status, read through the jobs' status index,
 *   which holds exactly those calls; (business_id, status) would need every business id first,
 *   and without them is a scan of every job ever written.
 * Then the business's own limit, if any.
 */
export async function businessLoads(db: AnyDb, t: TableNames): Promise<BusinessLoad[]> {
  const live = [...LIVE_JOB_STATUSES];
  const waiting = db
    .selectFrom(`${t.runs} as r`)
    .leftJoin(`${t.jobs} as j`, (join) => join.onRef('j.run_id', '=', 'r.id').on('j.status', '=', 'queued'))
    .select((eb) => [
      'r.business_id as business_id',
      sql<Count>`0`.as('active'),
      // A column of the index, so that the count reads the index alone.
      eb.fn.count('j.status').as('waiting'),
      eb.fn.max('r.concurrency').as('run_limit'),
    ])
    .where('r.status', 'in', [...LIVE_RUN_STATUSES])
    .groupBy('r.business_id');
  const active = db
    .selectFrom(`${t.jobs} as j`)
    .select((eb) => [
      'j.business_id as business_id',
      eb.fn.countAll().as('active'),
      sql<Count>`0`.as('waiting'),
      sql<number | null>`null`.as('run_limit'),
    ])
    .where('j.status', 'in', live)
    .groupBy('j.business_id');
  const rows = await db
    .selectFrom(waiting.unionAll(active).as('u'))
    .leftJoin(`${t.businesses} as b`, 'b.business_id', 'u.business_id')
    .select((eb) => [
      'u.business_id as business_id',
      eb.fn.sum('u.active').as('active'),
      eb.fn.sum('u.waiting').as('waiting'),
      eb.fn.max('u.run_limit').as('run_limit'),
      eb.fn.max('b.concurrency').as('own_limit'),
    ])
    .groupBy('u.business_id')
    .orderBy('u.business_id')
    .execute();
  return rows.map((row) => ({
    businessId: row.business_id as string,
    active: toNumber(row.active),
    waiting: toNumber(row.waiting),
    // Without a live run there is no run limit: its own, else 0 (no run may place a new call).
    limit: toNumber(row.own_limit ?? row.run_limit ?? 0),
  }));
}
