import { TERMINAL_JOB_STATUSES } from '../../types.js';
import type { PurgedJobs } from '../job-store.js';
import type { AnyDb, TableNames } from './kysely-schema.js';

/**
 * The ids of runs finished (stopped or completed) before `before` whose jobs all ended, oldest
 * first: a run stopped without hang-up keeps its live calls, and is not listed until they end.
 */
export async function finishedRuns(
  db: AnyDb,
  t: TableNames,
  before: number,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom(`${t.runs} as r`)
    .select('r.id')
    .where('r.status', 'in', ['stopped', 'completed'])
    .where('r.finished_at', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom(`${t.jobs} as j`)
            .select('j.id')
            .whereRef('j.run_id', '=', 'r.id')
            .where('j.status', 'not in', [...TERMINAL_JOB_STATUSES]),
        ),
      ),
    )
    .orderBy('r.finished_at')
    .orderBy('r.id')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id as string);
}

/**
 * Deletes up to `maxJobs` ended jobs of a finished run (of a run not finished, none), with their
 * earlier attempts, in one transaction; once none is left, the run's row too. Jobs go before the
 * run, so a purge cut short is taken up again by the next (the run still matches
 * {@link finishedRuns}).
 */
export async function purgeRunJobs(
  db: AnyDb,
  t: TableNames,
  runId: string,
  maxJobs: number,
): Promise<PurgedJobs> {
  return db.transaction().execute(async (trx) => {
    const finished = await trx
      .selectFrom(t.runs)
      .select('id')
      .where('id', '=', runId)
      .where('status', 'in', ['stopped', 'completed'])
      .execute();
    if (finished.length === 0) return { jobs: 0, runDeleted: false };
    const ids = (
      await trx
        .selectFrom(t.jobs)
        .select('id')
        .where('run_id', '=', runId)
        .where('status', 'in', [...TERMINAL_JOB_STATUSES])
        .limit(maxJobs)
        .execute()
    ).map((row) => row.id as string);
    if (ids.length > 0) {
      await trx.deleteFrom(t.attempts).where('job_id', 'in', ids).execute();
      await trx.deleteFrom(t.jobs).where('id', 'in', ids).execute();
    }
    if (ids.length === maxJobs) return { jobs: ids.length, runDeleted: false };
    const left = await trx.selectFrom(t.jobs).select('id').where('run_id', '=', runId).limit(1).execute();
    if (left.length > 0) return { jobs: ids.length, runDeleted: false };
    const deleted = await trx
      .deleteFrom(t.runs)
      .where('id', '=', runId)
      .where('status', 'in', ['stopped', 'completed'])
      .executeTakeFirst();
    return { jobs: ids.length, runDeleted: Number(deleted.numDeletedRows) === 1 };
  });
}
