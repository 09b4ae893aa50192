import type { WaitingCounts } from '../../types.js';
import type { DeferredJob } from '../job-store.js';
import { toNumber } from './kysely-row-mappers.js';
import type { AnyDb, TableNames } from './kysely-schema.js';

/**
 * Counts a run's queued jobs that may not be dialed at `now`, by why they wait.
 * @returns `window`: outside their calling window; `cap`: their number at its contact cap; else `retry`: tried before, waiting for the
 *   next attempt; `scheduled`: never tried
 */
export async function countWaiting(
  db: AnyDb,
  t: TableNames,
  runId: string,
  now: number,
): Promise<WaitingCounts> {
  const rows = await db
    .selectFrom(t.jobs)
    .select((eb) => [
      eb.fn.countAll().as('n'),
      eb
        .case()
        .when('waits_for', '=', 'window')
        .then('window')
        .when('waits_for', '=', 'cap')
        .then('cap')
        .when('attempt', '>', 0)
        .then('retry')
        .else('scheduled')
        .end()
        .as('why'),
    ])
    .where('run_id', '=', runId)
    .where('status', '=', 'queued')
    .where('not_before', '>', now)
    .groupBy('why')
    .execute();
  const waiting: WaitingCounts = { retry: 0, scheduled: 0, window: 0, cap: 0 };
  for (const row of rows) waiting[row.why as keyof WaitingCounts] += Number(row.n);
  return waiting;
}

/**
 * Holds queued jobs back until their windows open: one statement per distinct time.
 * @param jobs - the jobs and when each one's window opens
 */
export async function deferJobs(
  db: AnyDb,
  t: TableNames,
  jobs: readonly DeferredJob[],
  now: number,
): Promise<void> {
  const byTime = new Map<number, string[]>();
  for (const job of jobs) byTime.set(job.until, [...(byTime.get(job.until) ?? []), job.jobId]);
  for (const [until, jobIds] of byTime) await holdBack(db, t, jobIds, until, 'window', now);
}

/**
 * Holds queued jobs back until `until`, saying why (`waits_for`, counted by {@link countWaiting}).
 * Jobs no longer queued are left as they are.
 */
export async function holdBack(
  db: AnyDb,
  t: TableNames,
  jobIds: readonly string[],
  until: number,
  why: 'window' | 'cap',
  now: number,
): Promise<void> {
  await db
    .updateTable(t.jobs)
    .set({ not_before: until, waits_for: why, updated_at: now })
    .where('id', 'in', jobIds)
    .where('status', '=', 'queued')
    .execute();
}

/**
 * Cancels a stopped run's queued jobs. A job its number's contact cap held back says so
 * (`CONTACT_CAP`).
 * @returns how many were canceled
 */
export async function cancelQueuedJobs(
  db: AnyDb,
  t: TableNames,
  postgres: boolean,
  runId: string,
  now: number,
): Promise<number> {
  const { jobs } = t;
  let cancel = db
    .updateTable(jobs)
    .set((eb) => ({
      status: 'canceled',
      ended_at: now,
      updated_at: now,
      error_code: eb
        .case()
        .when('waits_for', '=', 'cap')
        .then('CONTACT_CAP')
        .else(eb.ref('error_code'))
        .end(),
    }))
    .where('run_id', '=', runId)
    .where('status', '=', 'queued');
  if (postgres) {
    // Rows locked in id order, the order a batch of claims locks them in: locked in any other
    // order, a cancel and a batch in flight could each hold a row the other waits for.
    const inIdOrder = db
      .selectFrom(jobs)
      .select('id')
      .where('run_id', '=', runId)
      .where('status', '=', 'queued')
      .orderBy('id')
      .forUpdate();
    cancel = cancel.where('id', 'in', inIdOrder);
  }
  const result = await cancel.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * The earliest time after `now` at which one of a run's queued jobs becomes due (a retry, a
 * scheduled lead), if any.
 */
export async function nextRetryAt(
  db: AnyDb,
  t: TableNames,
  runId: string,
  now: number,
): Promise<number | undefined> {
  const row = await db
    .selectFrom(t.jobs)
    .select((eb) => eb.fn.min('not_before').as('at'))
    .where('run_id', '=', runId)
    .where('status', '=', 'queued')
    .where('not_before', '>', now)
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? undefined : toNumber(row.at as number | string);
}
