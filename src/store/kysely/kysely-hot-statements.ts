import { CompiledQuery } from 'kysely';
import type { JobStatus } from '../../types.js';
import type { JobTransition } from '../job-store.js';
import { isTerminal, statusesBefore } from '../job-transitions.js';
import { JOB_ROUTE_COLUMNS } from './kysely-row-mappers.js';
import type { JobRow, TableNames } from './kysely-schema.js';

/** The columns a claim returns. */
const CLAIMED_COLUMNS = [
  'id',
  'run_id',
  'business_id',
  'to_number',
  'from_number',
  'attempt',
  'metadata',
] as const;

/** A row a claim returns. */
export type ClaimedRow = Pick<JobRow, (typeof CLAIMED_COLUMNS)[number]>;

/** A row a transition returns (the routing columns). */
export type RoutedRow = Pick<JobRow, (typeof JOB_ROUTE_COLUMNS)[number]>;

/** A row of a queued-jobs page. */
export type QueuedRow = Pick<JobRow, 'id' | 'seq'>;

function quoted(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

/**
 * The SQL text with its `?` placeholders numbered `$1, $2, ...`, as PostgreSQL wants them.
 * The store's SQL has no `?` anywhere else (table names are letters, digits and underscores).
 */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * The store's per-call statements, as SQL text built once per store instead of with Kysely's
 * query builder on every call (which costs ~45 µs a statement: operation nodes, freezing,
 * compiling). Each method returns the statement with its parameters, for `db.executeQuery`.
 * The text depends only on the table names, the dialect and, for a transition, which optional
 * fields are set; transitions get one text per shape, built the first time it is seen.
 *
 * The SQL is written once with `?` placeholders (SQLite's) and numbered for PostgreSQL;
 * identifiers are double-quoted, which both dialects read. Job statuses are written as literals:
 * they are the store's own constants.
 */
export class HotStatements {
  private readonly sqlFor: (sql: string) => string;
  private readonly claimSql: string;
  private readonly fencedClaimSql: string;
  private readonly dialedSql: string;
  private readonly requeueSql: string;
  private readonly touchSql: string;
  private readonly queuedSql: string;
  private readonly transitionSql = new Map<string, string>();

  /**
   * @param t - the store's table names
   * @param postgres - PostgreSQL's numbered placeholders, and a fenced claim share-locks the
   *   fence row (SQLite serializes its writers already)
   */
  constructor(
    private readonly t: TableNames,
    private readonly postgres: boolean,
  ) {
    this.sqlFor = postgres ? numbered : (sql) => sql;
    this.claimSql = this.sqlFor(this.claimText(false));
    this.fencedClaimSql = this.sqlFor(this.claimText(true));
    const jobs = `"${t.jobs}"`;
    this.dialedSql = this.sqlFor(
      `update ${jobs} set "call_id" = ?, "dialed_at" = ? where "id" = ? and "lock_token" = ?`,
    );
    this.requeueSql = this.sqlFor(
      `update ${jobs} set "status" = 'queued', "lock_token" = null, "call_id" = null, ` +
        `"not_before" = ?, "error_code" = ?, "error_message" = ?, "updated_at" = ? ` +
        `where "id" = ? and "lock_token" = ? and "status" = 'dialing' and exists ` +
        `(select 1 from "${t.runs}" as "r" where "r"."id" = ${jobs}."run_id" ` +
        `and "r"."status" in ('running', 'paused'))`,
    );
    this.touchSql = this.sqlFor(`update ${jobs} set "updated_at" = ? where "id" = ?`);
    this.queuedSql = this.sqlFor(
      `select "id", "seq" from ${jobs} where "run_id" = ? and "status" = 'queued' and "seq" > ? ` +
        `and ("not_before" is null or "not_before" <= ?) and exists ` +
        `(select 1 from "${t.runs}" where "${t.runs}"."id" = ? and "${t.runs}"."status" = 'running') ` +
        `order by "seq" limit ?`,
    );
  }

  /**
   * Claims a queued job of a running run: status `dialing`, the caller's lock token, one more
   * attempt. With a fencing token, only while the business's fence still holds that token.
   * @returns the statement; it returns the claimed row, or none when the claim lost
   */
  claim(jobId: string, lockToken: string, now: number, fence?: number): CompiledQuery<ClaimedRow> {
    if (fence === undefined) return CompiledQuery.raw(this.claimSql, [lockToken, now, now, jobId]);
    return CompiledQuery.raw(this.fencedClaimSql, [lockToken, now, now, jobId, fence]);
  }

  /**
   * Records the provider's call id on a job the caller still holds.
   * @returns the statement; one affected row when the lock token matched
   */
  dialed(jobId: string, lockToken: string, callId: string, now: number): CompiledQuery<never> {
    return CompiledQuery.raw(this.dialedSql, [callId, now, jobId, lockToken]);
  }

  /**
   * Moves a claimed job to `change.status` from an earlier live status, when the lock token or
   * the call id matches. Sets the call id if none was recorded, the answering party when given,
   * and the outcome columns when the status is terminal. The caller checks that `change` can
   * move a job at all (a status with earlier ones, a token or a call id).
   * @returns the statement; it returns the routing columns of the moved job, or none
   */
  transition(change: JobTransition, now: number): CompiledQuery<RoutedRow> {
    const { callId, answeredBy, lockToken } = change;
    const from = statusesBefore(change.status);
    const terminal = isTerminal(change.status);
    const key =
      `${from.join()}|${callId !== undefined}|${answeredBy !== undefined}|` +
      `${terminal}|${lockToken !== undefined}`;
    let sql = this.transitionSql.get(key);
    if (sql === undefined) {
      sql = this.sqlFor(this.transitionText(from, change, terminal));
      this.transitionSql.set(key, sql);
    }
    // In the order of the placeholders of transitionText.
    const params: unknown[] = [change.status, now];
    if (callId !== undefined) params.push(callId);
    if (answeredBy !== undefined) params.push(answeredBy);
    if (terminal) {
      params.push(now, change.errorCode ?? null, change.errorMessage ?? null, change.durationSec ?? null);
    }
    params.push(change.jobId);
    if (lockToken !== undefined) params.push(lockToken);
    if (callId !== undefined) params.push(callId);
    return CompiledQuery.raw(sql, params);
  }

  /**
   * Puts a job the caller holds (still `dialing`) back in the queue with a retry time and the
   * error that caused it, while its run is running or paused.
   * @returns the statement; one affected row when the job was requeued
   */
  requeue(
    jobId: string,
    lockToken: string,
    notBefore: number,
    error: { code: string; message: string },
    now: number,
  ): CompiledQuery<never> {
    return CompiledQuery.raw(this.requeueSql, [notBefore, error.code, error.message, now, jobId, lockToken]);
  }

  /**
   * Bumps a job's `updated_at`, so the silent-call sweep leaves it alone a while longer.
   * @returns the statement
   */
  touch(jobId: string, now: number): CompiledQuery<never> {
    return CompiledQuery.raw(this.touchSql, [now, jobId]);
  }

  /**
   * Pages the queued jobs of a running run that are due at `now`, in `seq` order after `afterSeq`.
   * @returns the statement; it returns up to `limit` rows of id and seq
   */
  nextQueued(runId: string, afterSeq: number, limit: number, now: number): CompiledQuery<QueuedRow> {
    return CompiledQuery.raw(this.queuedSql, [runId, afterSeq, now, runId, limit]);
  }

  private claimText(fenced: boolean): string {
    const { runs, jobs, fences } = this.t;
    // On PostgreSQL the share lock makes a concurrent fenceSlots() wait for this claim to commit
    // (then it reads this job as a holder), or makes this claim see the raised token and fail.
    const fence = fenced
      ? ` and exists (select 1 from "${fences}" where "${fences}"."business_id" = "${jobs}"."business_id" ` +
        `and "${fences}"."fence" = ?${this.postgres ? ' for share' : ''})`
      : '';
    return (
      `update "${jobs}" set "status" = 'dialing', "lock_token" = ?, "attempt" = "attempt" + 1, ` +
      `"claimed_at" = ?, "updated_at" = ?, "not_before" = null ` +
      `where "id" = ? and "status" = 'queued' and exists (select 1 from "${runs}" ` +
      `where "${runs}"."id" = "${jobs}"."run_id" and "${runs}"."status" = 'running')${fence} ` +
      `returning ${quoted(CLAIMED_COLUMNS)}`
    );
  }

  private transitionText(from: readonly JobStatus[], change: JobTransition, terminal: boolean): string {
    const set = ['"status" = ?', '"updated_at" = ?'];
    if (change.callId !== undefined) set.push('"call_id" = coalesce("call_id", ?)');
    if (change.answeredBy !== undefined) set.push('"answered_by" = ?');
    if (terminal) set.push('"ended_at" = ?', '"error_code" = ?', '"error_message" = ?', '"duration_sec" = ?');
    const matches: string[] = [];
    if (change.lockToken !== undefined) matches.push('"lock_token" = ?');
    if (change.callId !== undefined) matches.push('"call_id" = ?');
    const statuses = from.map((status) => `'${status}'`).join(', ');
    return (
      `update "${this.t.jobs}" set ${set.join(', ')} where "id" = ? and "status" in (${statuses}) ` +
      `and (${matches.join(' or ')}) returning ${quoted(JOB_ROUTE_COLUMNS)}`
    );
  }
}
