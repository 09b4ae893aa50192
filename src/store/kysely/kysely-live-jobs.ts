import { LIVE_JOB_STATUSES, TERMINAL_JOB_STATUSES } from '../../types.js';
import type { JobRoute, JobsOffCall } from '../job-store.js';
import { JOB_ROUTE_COLUMNS, toJobRoute } from './kysely-row-mappers.js';
import type { AnyDb, JobRow, TableNames } from './kysely-schema.js';

/**
 * Which of `jobIds` hold no call: ended (terminal, or gone) and queued (back in line).
 * @param sliceSize - most ids per statement (SQLite caps the parameters of one statement)
 */
export async function jobsOffCall(
  db: AnyDb,
  t: TableNames,
  jobIds: readonly string[],
  sliceSize: number,
  serialized: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<JobsOffCall> {
  const open = new Map<string, string>();
  for (let i = 0; i < jobIds.length; i += sliceSize) {
    const rows = await serialized(() =>
      db
        .selectFrom(t.jobs)
        .select(['id', 'status'])
        .where('id', 'in', jobIds.slice(i, i + sliceSize))
        .where('status', 'not in', [...TERMINAL_JOB_STATUSES])
        .execute(),
    );
    for (const row of rows) open.set(row.id as string, row.status as string);
  }
  return {
    ended: jobIds.filter((id) => !open.has(id)),
    queued: jobIds.filter((id) => open.get(id) === 'queued'),
  };
}

/** Call ids of a run's live jobs (for hang-up on stop). */
export async function liveCallIds(db: AnyDb, t: TableNames, runId: string): Promise<string[]> {
  const rows = await db
    .selectFrom(t.jobs)
    .select('call_id')
    .where('run_id', '=', runId)
    .where('status', 'in', [...LIVE_JOB_STATUSES])
    .where('call_id', 'is not', null)
    .execute();
  return rows.map((row) => row.call_id as string);
}

/** Live jobs with no change since `before` (silent calls), oldest first. */
export async function silentJobs(
  db: AnyDb,
  t: TableNames,
  before: number,
  limit: number,
): Promise<JobRoute[]> {
  const rows = await db
    .selectFrom(t.jobs)
    .select(JOB_ROUTE_COLUMNS)
    .where('status', 'in', [...LIVE_JOB_STATUSES])
    .where('updated_at', '<', before)
    .orderBy('updated_at')
    .limit(limit)
    .execute();
  return rows.map((row) => toJobRoute(row as JobRow));
}
