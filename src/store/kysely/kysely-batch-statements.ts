import { CompiledQuery } from 'kysely';
import { LIVE_JOB_STATUSES } from '../../types.js';
import type { JobTransition } from '../job-store.js';
import { isTerminal, LIVE_STATUS_RANKS, statusRank } from '../job-transitions.js';
import { JOB_ROUTE_COLUMNS } from './kysely-row-mappers.js';
import type { JobRow, TableNames } from './kysely-schema.js';

/** The live statuses as an SQL list (constants, not user input). */
const LIVE_LIST = LIVE_JOB_STATUSES.map((status) => `'${status}'`).join(', ');
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

/** A row a call-id write returns. */
export type DialedRow = Pick<JobRow, 'id'>;

/** One claim of a batch. */
export interface ClaimInput {
  jobId: string;
  lockToken: string;
  now: number;
  /** The business's fencing token the grant came with, if its limiter has one. */
  fence?: number;
}

/** One call-id write of a batch. */
export interface DialedInput {
  jobId: string;
  lockToken: string;
  callId: string;
  now: number;
}

/** One status change of a batch. */
export interface TransitionInput {
  change: JobTransition;
  now: number;
}

/** A column of the rows a batch statement reads from its one JSON parameter, with its PostgreSQL type. */
type Column = readonly [name: string, pgType: string];

const CLAIM_COLUMNS: readonly Column[] = [
  ['id', 'text'],
  ['lock_token', 'text'],
  ['now', 'bigint'],
  ['fence', 'bigint'],
];

const DIALED_COLUMNS: readonly Column[] = [
  ['id', 'text'],
  ['lock_token', 'text'],
  ['call_id', 'text'],
  ['now', 'bigint'],
];

const TRANSITION_COLUMNS: readonly Column[] = [
  ['id', 'text'],
  ['lock_token', 'text'],
  ['call_id', 'text'],
  ['status', 'text'],
  ['rank', 'integer'],
  ['terminal', 'boolean'],
  ['now', 'bigint'],
  ['answered_by', 'text'],
  ['error_code', 'text'],
  ['error_message', 'text'],
  ['duration_sec', 'integer'],
  ['new_lock_token', 'text'],
];

/** A whole number of seconds for the integer column, or null. */
function wholeSeconds(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : null;
}

/**
 * The store's per-call writes as multi-row statements: one statement claims, records the call
 * ids of, or moves the status of any number of jobs. Each statement's text is fixed (built once
 * per store); its rows come in one JSON parameter, read with `json_each` on SQLite and
 * `json_to_recordset` on PostgreSQL (which also gets their ids as an array). So a batch of N writes of one kind costs one statement and,
 * on SQLite, one commit: the WAL frames of the pages the rows share are written once, not N times.
 *
 * A batch must not name a job twice: which of two rows would apply is undefined. Every statement
 * returns the jobs it changed, by id.
 */
export class BatchStatements {
  private readonly claimSql: string;
  private readonly dialedSql: string;
  private readonly transitionSql: string;

  /**
   * @param t - the store's table names
   * @param postgres - PostgreSQL's row source and placeholder, and a fenced claim share-locks the
   *   fence row (SQLite serializes its writers already)
   */
  constructor(
    private readonly t: TableNames,
    private readonly postgres: boolean,
  ) {
    const jobs = `"${t.jobs}"`;
    // An expression keeps the planner off the status indexes: it must find each job by id, not
    // scan every queued job of the table and join (`+` on SQLite, `|| ''` on PostgreSQL).
    const status = postgres ? `(${jobs}."status" || '')` : `+${jobs}."status"`;
    this.claimSql = this.claimText(status);
    this.dialedSql =
      `update ${jobs} set "call_id" = "v"."call_id", "dialed_at" = "v"."now" ` +
      `from ${this.rows(DIALED_COLUMNS)} where ${this.matchesRow()} ` +
      `and ${jobs}."lock_token" = "v"."lock_token" ` +
      // A call id an event recorded first stays: another call id is not this job's call. A job
      // ended meanwhile without this call (given up by a reconciler) takes no call id: a conflict.
      `and (${jobs}."call_id" = "v"."call_id" or (${jobs}."call_id" is null and ${jobs}."status" in (${LIVE_LIST}))) ` +
      `returning ${jobs}."id" as "id"`;
    this.transitionSql = this.transitionText();
  }

  /**
   * Claims queued jobs of running runs: status `dialing`, each its lock token, one more attempt.
   * A claim with a fencing token applies only while the business's fence still holds that token.
   * @returns the statement; it returns the claimed rows
   */
  claim(items: readonly ClaimInput[]): CompiledQuery<ClaimedRow> {
    const rows = items.map((c) => ({
      id: c.jobId,
      lock_token: c.lockToken,
      now: c.now,
      fence: c.fence ?? null,
    }));
    return CompiledQuery.raw(this.claimSql, this.parameters(rows));
  }

  /**
   * Records provider call ids on jobs whose lock token still matches.
   * @returns the statement; it returns the ids of the jobs written
   */
  dialed(items: readonly DialedInput[]): CompiledQuery<DialedRow> {
    const rows = items.map((d) => ({ id: d.jobId, lock_token: d.lockToken, call_id: d.callId, now: d.now }));
    return CompiledQuery.raw(this.dialedSql, this.parameters(rows));
  }

  /**
   * Moves claimed jobs forward, each from an earlier live status to its change's status, when
   * its lock token or call id matches. Sets the call id if none was recorded, the answering
   * party when given, and the outcome columns when the status is terminal.
   * @returns the statement; it returns the routing columns of the moved jobs
   */
  transition(items: readonly TransitionInput[]): CompiledQuery<RoutedRow> {
    const rows = items.map(({ change, now }) => {
      const terminal = isTerminal(change.status);
      return {
        id: change.jobId,
        lock_token: change.lockToken ?? null,
        call_id: change.callId ?? null,
        status: change.status,
        rank: statusRank(change.status),
        terminal,
        now,
        answered_by: change.answeredBy ?? null,
        error_code: terminal ? (change.errorCode ?? null) : null,
        error_message: terminal ? (change.errorMessage ?? null) : null,
        duration_sec: terminal ? wholeSeconds(change.durationSec) : null,
        new_lock_token: change.newLockToken ?? null,
      };
    });
    return CompiledQuery.raw(this.transitionSql, this.parameters(rows));
  }

  /**
   * The statement's parameters: the rows as JSON, and on PostgreSQL their ids again as an array.
   * The planner cannot see how many rows a JSON parameter holds, and with small or stale table
   * statistics it scans the whole jobs table to hash-join them; `id = any(ids)` makes it fetch
   * each job through the primary key instead.
   */
  private parameters(rows: ReadonlyArray<{ id: string }>): unknown[] {
    const json = JSON.stringify(rows);
    return this.postgres ? [json, rows.map((row) => row.id)] : [json];
  }

  /** The condition that pairs a job with its row of the batch. */
  private matchesRow(): string {
    const id = `"${this.t.jobs}"."id"`;
    return this.postgres ? `${id} = "v"."id" and ${id} = any($2::text[])` : `${id} = "v"."id"`;
  }

  /** The batch's rows as a table `"v"`, from the statement's first parameter. */
  private rows(columns: readonly Column[]): string {
    if (this.postgres) {
      const types = columns.map(([name, type]) => `"${name}" ${type}`).join(', ');
      return `json_to_recordset($1::json) as "v"(${types})`;
    }
    const fields = columns.map(([name]) => `json_extract("value", '$.${name}') as "${name}"`).join(', ');
    return `(select ${fields} from json_each(?)) as "v"`;
  }

  private returning(columns: readonly string[]): string {
    return columns.map((name) => `"${this.t.jobs}"."${name}" as "${name}"`).join(', ');
  }

  private claimText(status: string): string {
    const { runs, jobs, fences } = this.t;
    // On PostgreSQL the share lock makes a concurrent fenceSlots() wait for this claim to commit
    // (then it reads this job as a holder), or makes this claim see the raised token and fail.
    const share = this.postgres ? ' for share' : '';
    return (
      `update "${jobs}" set "status" = 'dialing', "lock_token" = "v"."lock_token", ` +
      `"attempt" = "${jobs}"."attempt" + 1, "claimed_at" = "v"."now", "updated_at" = "v"."now", ` +
      `"not_before" = null from ${this.rows(CLAIM_COLUMNS)} ` +
      `where ${this.matchesRow()} and ${status} = 'queued' and exists (select 1 from "${runs}" ` +
      `where "${runs}"."id" = "${jobs}"."run_id" and "${runs}"."status" = 'running') ` +
      `and ("v"."fence" is null or exists (select 1 from "${fences}" ` +
      `where "${fences}"."business_id" = "${jobs}"."business_id" and "${fences}"."fence" = "v"."fence"${share})) ` +
      `returning ${this.returning(CLAIMED_COLUMNS)}`
    );
  }

  private transitionText(): string {
    const jobs = `"${this.t.jobs}"`;
    const terminalOr = (column: string, value: string) =>
      `"${column}" = case when "v"."terminal" then ${value} else ${jobs}."${column}" end`;
    const set = [
      '"status" = "v"."status"',
      `"lock_token" = coalesce("v"."new_lock_token", ${jobs}."lock_token")`,
      '"updated_at" = "v"."now"',
      `"call_id" = coalesce(${jobs}."call_id", "v"."call_id")`,
      `"answered_by" = coalesce("v"."answered_by", ${jobs}."answered_by")`,
      terminalOr('ended_at', '"v"."now"'),
      terminalOr('error_code', '"v"."error_code"'),
      terminalOr('error_message', '"v"."error_message"'),
      terminalOr('duration_sec', '"v"."duration_sec"'),
    ];
    // A job moves only forward from a live status; queued and terminal jobs rank above every target.
    const ranks = Object.entries(LIVE_STATUS_RANKS)
      .map(([name, rank]) => `when '${name}' then ${rank}`)
      .join(' ');
    return (
      `update ${jobs} set ${set.join(', ')} from ${this.rows(TRANSITION_COLUMNS)} ` +
      `where ${this.matchesRow()} and (case ${jobs}."status" ${ranks} else 99 end) < "v"."rank" ` +
      `and (${jobs}."lock_token" = "v"."lock_token" or ${jobs}."call_id" = "v"."call_id") ` +
      // An event about another call than the one the job holds changes nothing, token or not.
      `and ("v"."call_id" is null or ${jobs}."call_id" is null or ${jobs}."call_id" = "v"."call_id") ` +
      `returning ${this.returning(JOB_ROUTE_COLUMNS)}`
    );
  }
}
