import type { CompiledQuery } from 'kysely';
import type { Job } from '../../types.js';
import { LIVE_JOB_STATUSES } from '../../types.js';
import type { JobRoute, JobTransition } from '../job-store.js';
import { wholeSeconds } from './kysely-batch-statements.js';
import { currentAttempt, JOB_ROUTE_COLUMNS, toJob, toJobAttempt, toJobRoute } from './kysely-row-mappers.js';
import type { AnyDb, AttemptRow, JobRow, TableNames } from './kysely-schema.js';

/** Whether `change` is about the live call `row` holds: its token or its call id, and no other call. */
function aboutLiveCall(row: JobRow, change: JobTransition): boolean {
  if (!LIVE_JOB_STATUSES.includes(row.status as Job['status'])) return false;
  const byToken = change.lockToken !== undefined && row.lock_token === change.lockToken;
  const byCall = change.callId !== undefined && row.call_id === change.callId;
  const sameCall = change.callId === undefined || row.call_id === null || row.call_id === change.callId;
  return (byToken || byCall) && sameCall;
}

/**
 * Ends the live attempt of a job with `change`'s outcome and puts the job back in line, to be
 * dialed again from `retryAt`, in one transaction: the attempt is kept in the attempts table,
 * and the job reads `queued` with no token, no call id and its attempt count, while its run is
 * running or paused.
 * @param db - the host's database
 * @param t - the store's table names
 * @param change - the terminal change an event asked for, matching the job as a transition must
 * @param lockRow - lock the job's row, and share-lock its run's, while reading them (PostgreSQL;
 *   SQLite writers are serialized)
 * @returns the job's routing columns, now `queued`; undefined when nothing changed (the change
 *   does not match the job's live call, or its run is stopped or completed)
 */
export async function writeRetry(
  db: AnyDb,
  t: TableNames,
  change: JobTransition,
  retryAt: number,
  now: number,
  lockRow: boolean,
): Promise<JobRoute | undefined> {
  return db.transaction().execute(async (trx) => {
    let read = trx.selectFrom(t.jobs).selectAll().where('id', '=', change.jobId);
    if (lockRow) read = read.forUpdate();
    const row = (await read.executeTakeFirst()) as JobRow | undefined;
    if (!row || !aboutLiveCall(row, change)) return undefined;
    // The run read under a share lock on PostgreSQL: a stop waits for this transaction, then
    // cancels the job it put back; or it came first, and the job is not put back (its end is
    // then written as it is). Without the lock a stop's cancel could miss the job.
    let run = trx.selectFrom(t.runs).select('status').where('id', '=', row.run_id);
    if (lockRow) run = run.forShare();
    const status = (await run.executeTakeFirst())?.status;
    if (status !== 'running' && status !== 'paused') return undefined;
    const moved = await trx
      .updateTable(t.jobs)
      .set({
        status: 'queued',
        lock_token: null,
        call_id: null,
        not_before: retryAt,
        waits_for: null,
        error_code: change.errorCode ?? null,
        error_message: change.errorMessage ?? null,
        answered_by: null,
        duration_sec: null,
        dialed_at: null,
        updated_at: now,
      })
      .where('id', '=', row.id)
      .where('status', '=', row.status)
      .where('lock_token', '=', row.lock_token)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom(t.runs)
            .select('id')
            .whereRef(`${t.runs}.id`, '=', `${t.jobs}.run_id`)
            .where(`${t.runs}.status`, 'in', ['running', 'paused']),
        ),
      )
      .returning(JOB_ROUTE_COLUMNS)
      .executeTakeFirst();
    if (!moved) return undefined;
    await trx
      .insertInto(t.attempts)
      .values({
        job_id: row.id,
        attempt: row.attempt,
        status: change.status,
        call_id: row.call_id ?? change.callId ?? null,
        error_code: change.errorCode ?? null,
        error_message: change.errorMessage ?? null,
        answered_by: change.answeredBy ?? row.answered_by,
        duration_sec: wholeSeconds(change.durationSec),
        started_at: row.claimed_at ?? now,
        ended_at: now,
      })
      .execute();
    return toJobRoute(moved as JobRow);
  });
}

/** Rolls back a requeue whose job did not go back in line. */
const NOT_REQUEUED = Symbol('not requeued');

/**
 * Puts a claimed job back in line with `requeue` (its hot statement) and keeps its attempt, in
 * one transaction: the attempt is kept first (the requeue clears the token that finds it), and
 * dropped with the transaction when the job does not go back.
 * @returns whether the job is back in line
 */
export async function writeRequeue(
  db: AnyDb,
  t: TableNames,
  requeue: CompiledQuery,
  jobId: string,
  lockToken: string,
  error: { code: string; message: string },
  now: number,
): Promise<boolean> {
  return db
    .transaction()
    .execute(async (trx) => {
      await keepUnplacedAttempt(trx, t, jobId, lockToken, error, now);
      if ((await trx.executeQuery(requeue)).numAffectedRows !== 1n) throw NOT_REQUEUED;
      return true;
    })
    .catch((err: unknown) => {
      if (err === NOT_REQUEUED) return false;
      throw err;
    });
}

/**
 * Keeps the attempt of a claimed job that goes back in line before its call was placed (a
 * transient dial failure, a slot lost, a close), as status `queued` with the error: to be run in
 * the transaction that puts it back, before the job's row changes.
 * @returns nothing; no row is kept when the token does not hold the job any more
 */
async function keepUnplacedAttempt(
  db: AnyDb,
  t: TableNames,
  jobId: string,
  lockToken: string,
  error: { code: string; message: string },
  now: number,
): Promise<void> {
  await db
    .insertInto(t.attempts)
    .columns(['job_id', 'attempt', 'status', 'error_code', 'error_message', 'started_at', 'ended_at'])
    .expression((eb) =>
      eb
        .selectFrom(t.jobs)
        .select((s) => [
          'id',
          'attempt',
          s.val('queued').as('status'),
          s.val(error.code).as('error_code'),
          s.val(error.message).as('error_message'),
          s.fn.coalesce('claimed_at', s.val(now)).as('started_at'),
          s.val(now).as('ended_at'),
        ])
        .where('id', '=', jobId)
        .where('lock_token', '=', lockToken)
        .where('status', '=', 'dialing'),
    )
    .onConflict((oc) => oc.columns(['job_id', 'attempt']).doNothing())
    .execute();
}

/**
 * Reads a job with every attempt it made: the retried ones from the attempts table, then the one
 * its row holds.
 * @returns the job, or undefined when there is none with that id
 */
export async function readJobWithAttempts(db: AnyDb, t: TableNames, jobId: string): Promise<Job | undefined> {
  const row = (await db.selectFrom(t.jobs).selectAll().where('id', '=', jobId).executeTakeFirst()) as
    | JobRow
    | undefined;
  if (!row) return undefined;
  const earlier = (await db
    .selectFrom(t.attempts)
    .selectAll()
    .where('job_id', '=', jobId)
    .orderBy('attempt')
    .execute()) as AttemptRow[];
  const attempts = earlier.map(toJobAttempt);
  const current = currentAttempt(row);
  // A job put back for a retry of its outcome holds no current attempt: it is in the table.
  if (current && current.attempt > (attempts[attempts.length - 1]?.attempt ?? 0)) attempts.push(current);
  const job = toJob(row);
  const notBefore = row.not_before === null ? undefined : Number(row.not_before);
  if (job.status === 'queued' && notBefore !== undefined) job.retryAt = new Date(notBefore);
  return { ...job, attempts };
}
