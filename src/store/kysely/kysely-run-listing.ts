import type { Kysely } from 'kysely';
import { type JobStatus, TERMINAL_JOB_STATUSES } from '../../types.js';
import type { RunQuery, RunRecord } from '../job-store.js';
import { toNumber, toRunRecord } from './kysely-row-mappers.js';
import type { AnyDb, RunRow, TableNames } from './kysely-schema.js';

/**
 * Pages through runs newest first: by creation time, then id, both descending, through the
 * `<prefix>runs_created` or `<prefix>runs_business_created` index. The cursor is a run id; the
 * page starts right after that run in this order.
 * @param db - the host's database
 * @param t - the store's table names
 * @returns the page; empty when `after` names no run
 */
// biome-ignore lint/suspicious/noExplicitAny: the store's tables are not in the host's schema type
export async function listRuns(db: Kysely<any>, t: TableNames, query: RunQuery): Promise<RunRecord[]> {
  let select = db.selectFrom(t.runs).selectAll();
  if (query.businessId !== undefined) select = select.where('business_id', '=', query.businessId);
  if (query.statuses !== undefined && query.statuses.length > 0)
    select = select.where('status', 'in', [...query.statuses]);
  if (query.after !== undefined) {
    const cursor = await db
      .selectFrom(t.runs)
      .select(['created_at', 'id'])
      .where('id', '=', query.after)
      .executeTakeFirst();
    if (!cursor) return [];
    const createdAt = toNumber(cursor.created_at as number | string);
    select = select.where((eb) =>
      eb.or([
        eb('created_at', '<', createdAt),
        eb.and([eb('created_at', '=', createdAt), eb('id', '<', query.after as string)]),
      ]),
    );
  }
  const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map((row) => toRunRecord(row as RunRow));
}

/**
 * Counts the jobs of several runs per status in one grouped read.
 * @param db - the host's database
 * @param t - the store's table names
 * @returns run id -> counts per status (statuses without jobs are absent; so are runs without jobs)
 */
export async function countJobsByRun(
  // biome-ignore lint/suspicious/noExplicitAny: see listRuns
  db: Kysely<any>,
  t: TableNames,
  runIds: readonly string[],
): Promise<Map<string, Partial<Record<JobStatus, number>>>> {
  const counts = new Map<string, Partial<Record<JobStatus, number>>>();
  if (runIds.length === 0) return counts;
  const rows = await db
    .selectFrom(t.jobs)
    .select(['run_id', 'status', (eb) => eb.fn.countAll().as('n')])
    .where('run_id', 'in', [...runIds])
    .groupBy(['run_id', 'status'])
    .execute();
  for (const row of rows) {
    const runId = row.run_id as string;
    const ofRun = counts.get(runId) ?? {};
    ofRun[row.status as JobStatus] = toNumber(row.n as number | string);
    counts.set(runId, ofRun);
  }
  return counts;
}

/** Counts a run's jobs per status (statuses without jobs are absent). */
export async function countJobs(
  db: AnyDb,
  t: TableNames,
  runId: string,
): Promise<Partial<Record<JobStatus, number>>> {
  const rows = await db
    .selectFrom(t.jobs)
    .select(['status', (eb) => eb.fn.countAll().as('n')])
    .where('run_id', '=', runId)
    .groupBy('status')
    .execute();
  const counts: Partial<Record<JobStatus, number>> = {};
  for (const row of rows) counts[row.status as JobStatus] = toNumber(row.n as number | string);
  return counts;
}

/** Counts a run's claims whose call is not known to be placed yet (`dialing`, no call id). */
export async function countUnplacedClaims(db: AnyDb, t: TableNames, runId: string): Promise<number> {
  const row = await db
    .selectFrom(t.jobs)
    .select((eb) => eb.fn.countAll().as('n'))
    .where('run_id', '=', runId)
    .where('status', '=', 'dialing')
    .where('call_id', 'is', null)
    .executeTakeFirstOrThrow();
  return toNumber(row.n as number | string);
}

/** Counts a run's jobs that are not terminal. */
export async function countUnfinished(db: AnyDb, t: TableNames, runId: string): Promise<number> {
  const row = await db
    .selectFrom(t.jobs)
    .select((eb) => eb.fn.countAll().as('n'))
    .where('run_id', '=', runId)
    .where('status', 'not in', [...TERMINAL_JOB_STATUSES])
    .executeTakeFirstOrThrow();
  return toNumber(row.n as number | string);
}
