import { CompiledQuery } from 'kysely';
import type { JobRow, TableNames } from './kysely-schema.js';

/** A row of a queued-jobs page (the number and zones only when asked for). */
export type QueuedRow = Pick<JobRow, 'id' | 'seq'> & Partial<Pick<JobRow, 'to_number' | 'time_zone'>>;

/**
 * The SQL text with its `?` placeholders numbered `$1, $2, ...`, as PostgreSQL wants them.
 * The store's SQL has no `?` anywhere else (table names are letters, digits and underscores).
 */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * The store's frequent single-row statements (the per-call writes are in
 * `BatchStatements`), as SQL text built once per store instead of with Kysely's query
 * builder on every call (which costs ~45 µs a statement: operation nodes, freezing, compiling).
 * Each method returns the statement with its parameters, for `db.executeQuery`. The text depends
 * only on the table names and the dialect.
 *
 * The SQL is written once with `?` placeholders (SQLite's) and numbered for PostgreSQL;
 * identifiers are double-quoted, which both dialects read. Job statuses are written as literals:
 * they are the store's own constants.
 */
export class HotStatements {
  private readonly requeueSql: string;
  private readonly touchSql: string;
  private readonly queuedSql: string;
  private readonly queuedWithNumbersSql: string;

  /**
   * @param t - the store's table names
   * @param postgres - PostgreSQL's numbered placeholders
   */
  constructor(t: TableNames, postgres: boolean) {
    const sqlFor = postgres ? numbered : (sql: string) => sql;
    const jobs = `"${t.jobs}"`;
    this.requeueSql = sqlFor(
      `update ${jobs} set "status" = 'queued', "lock_token" = null, "call_id" = null, ` +
        `"not_before" = ?, "waits_for" = null, "error_code" = ?, "error_message" = ?, "updated_at" = ? ` +
        `where "id" = ? and "lock_token" = ? and "status" = 'dialing' and exists ` +
        `(select 1 from "${t.runs}" as "r" where "r"."id" = ${jobs}."run_id" ` +
        `and "r"."status" in ('running', 'paused'))`,
    );
    this.touchSql = sqlFor(`update ${jobs} set "updated_at" = ? where "id" = ?`);
    const queued = (columns: string) =>
      sqlFor(
        `select ${columns} from ${jobs} where "run_id" = ? and "status" = 'queued' and "seq" > ? ` +
          `and ("not_before" is null or "not_before" <= ?) and exists ` +
          `(select 1 from "${t.runs}" where "${t.runs}"."id" = ? and "${t.runs}"."status" = 'running') ` +
          `order by "seq" limit ?`,
      );
    this.queuedSql = queued('"id", "seq"');
    this.queuedWithNumbersSql = queued('"id", "seq", "to_number", "time_zone"');
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
   * @param withNumbers - read each job's number and zones too
   * @returns the statement; it returns up to `limit` rows of id and seq
   */
  nextQueued(
    runId: string,
    afterSeq: number,
    limit: number,
    now: number,
    withNumbers: boolean,
  ): CompiledQuery<QueuedRow> {
    const sql = withNumbers ? this.queuedWithNumbersSql : this.queuedSql;
    return CompiledQuery.raw(sql, [runId, afterSeq, now, runId, limit]);
  }
}
