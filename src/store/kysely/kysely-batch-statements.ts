import { CompiledQuery } from 'kysely';
import { LIVE_JOB_STATUSES } from '../../types.js';
import type { JobTransition } from '../job-store.js';
import { isTerminal, LIVE_STATUS_RANKS, statusRank } from '../job-transitions.js';
import { JOB_ROUTE_COLUMNS } from './kysely-row-mappers.js';
import type { JobRow, TableNames } from './kysely-schema.js';

/** A column a statement sets, and the SQL expression it is set to. */
type Assignment = readonly [column: string, expression: string];

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
  'time_zone',
] as const;

/** A row a claim returns. */
export type ClaimedRow = Pick<JobRow, (typeof CLAIMED_COLUMNS)[number]>;

/** A row a transition returns (the routing columns). */
export type RoutedRow = Pick<JobRow, (typeof JOB_ROUTE_COLUMNS)[number]>;

/** A row a call-id write returns. */
export type DialedRow = Pick<JobRow, 'id'>;

/** A row a hand-off statement returns: a claimed row's columns and a moved row's, whichever it is. */
export type HandOffRow = ClaimedRow & RoutedRow;

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

/** The columns of a hand-off's rows: a claim's and a status change's, told apart by `kind`. */
const HAND_OFF_COLUMNS: readonly Column[] = [
  ['kind', 'text'],
  ...TRANSITION_COLUMNS,
  ...CLAIM_COLUMNS.filter(([name]) => !TRANSITION_COLUMNS.some(([other]) => other === name)),
];

/** A whole number of seconds for the integer column, or null. */
export function wholeSeconds(value: number | undefined): number | null {
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
  private readonly handOffSql: string;

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
    this.claimSql = this.update(this.claimSets(), CLAIM_COLUMNS, this.claimWhere(status), CLAIMED_COLUMNS);
    this.dialedSql =
      `update ${jobs} set "call_id" = "v"."call_id", "dialed_at" = "v"."now" ` +
      `from ${this.rows(DIALED_COLUMNS)} where ${this.matchesRow()} ` +
      `and ${jobs}."lock_token" = "v"."lock_token" ` +
      // A call id an event recorded first stays: another call id is not this job's call. A job
      // ended meanwhile without this call (given up by a reconciler) takes no call id: a conflict.
      `and (${jobs}."call_id" = "v"."call_id" or (${jobs}."call_id" is null and ${jobs}."status" in (${LIVE_LIST}))) ` +
      `returning ${jobs}."id" as "id"`;
    this.transitionSql = this.update(
      this.transitionSets(),
      TRANSITION_COLUMNS,
      this.transitionWhere(),
      JOB_ROUTE_COLUMNS,
    );
    this.handOffSql = this.handOffText(status);
  }

  /**
   * Claims queued jobs of running runs: status `dialing`, each its lock token, one more attempt.
   * A claim with a fencing token applies only while the business's fence still holds that token.
   * @returns the statement; it returns the claimed rows
   */
  claim(items: readonly ClaimInput[]): CompiledQuery<ClaimedRow> {
    return CompiledQuery.raw(this.claimSql, this.parameters(items.map(claimRow)));
  }

  /**
   * Moves jobs forward as {@link BatchStatements.transition} does and claims others as
   * {@link BatchStatements.claim} does, in one statement: a call's end and the claim of the job
   * its slot was passed to are written at once, and no read sees one without the other.
   * @returns the statement; it returns the rows it changed, by id
   */
  handOff(transitions: readonly TransitionInput[], claims: readonly ClaimInput[]): CompiledQuery<HandOffRow> {
    const rows = [
      ...transitions.map((t) => ({ kind: 't', ...transitionRow(t) })),
      ...claims.map((c) => ({ kind: 'c', ...claimRow(c) })),
    ];
    // In id order, as the batcher orders each statement's rows (PostgreSQL's lock order).
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return CompiledQuery.raw(this.handOffSql, this.parameters(rows));
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
    return CompiledQuery.raw(this.transitionSql, this.parameters(items.map(transitionRow)));
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

  /** `update <jobs> set … from <rows> where <the row's job> and … returning …`. */
  private update(
    sets: readonly Assignment[],
    columns: readonly Column[],
    where: string,
    returning: readonly string[],
  ): string {
    const set = sets.map(([column, expression]) => `"${column}" = ${expression}`).join(', ');
    return (
      `update "${this.t.jobs}" set ${set} from ${this.rows(columns)} ` +
      `where ${this.matchesRow()} and ${where} returning ${this.returning(returning)}`
    );
  }

  /** What a claim sets: `dialing`, its lock token, one more attempt. */
  private claimSets(): Assignment[] {
    const jobs = `"${this.t.jobs}"`;
    return [
      ['status', `'dialing'`],
      ['lock_token', '"v"."lock_token"'],
      ['attempt', `${jobs}."attempt" + 1`],
      ['claimed_at', '"v"."now"'],
      ['updated_at', '"v"."now"'],
      ['not_before', 'null'],
    ];
  }

  /**
   * Which jobs a claim takes: queued and due (its retry or scheduled time passed), of a running
   * run, under the grant's fence (if any).
   */
  private claimWhere(status: string): string {
    const { runs, jobs, fences } = this.t;
    // On PostgreSQL the share lock makes a concurrent fenceSlots() wait for this claim to commit
    // (then it reads this job as a holder), or makes this claim see the raised token and fail.
    const share = this.postgres ? ' for share' : '';
    return (
      // A grant that comes early (a slot left to a job put back for a retry, then reconciled)
      // does not claim it before its time: the grant is given back and the job offered when due.
      `${status} = 'queued' and ("${jobs}"."not_before" is null or "${jobs}"."not_before" <= "v"."now") ` +
      `and exists (select 1 from "${runs}" ` +
      `where "${runs}"."id" = "${jobs}"."run_id" and "${runs}"."status" = 'running') ` +
      `and ("v"."fence" is null or exists (select 1 from "${fences}" ` +
      `where "${fences}"."business_id" = "${jobs}"."business_id" and "${fences}"."fence" = "v"."fence"${share}))`
    );
  }

  /** What a status change sets: the status, and the outcome columns when it is terminal. */
  private transitionSets(): Assignment[] {
    const jobs = `"${this.t.jobs}"`;
    const terminalOr = (column: string, value: string): Assignment => [
      column,
      `case when "v"."terminal" then ${value} else ${jobs}."${column}" end`,
    ];
    return [
      ['status', '"v"."status"'],
      ['lock_token', `coalesce("v"."new_lock_token", ${jobs}."lock_token")`],
      ['updated_at', '"v"."now"'],
      ['call_id', `coalesce(${jobs}."call_id", "v"."call_id")`],
      ['answered_by', `coalesce("v"."answered_by", ${jobs}."answered_by")`],
      terminalOr('ended_at', '"v"."now"'),
      terminalOr('error_code', '"v"."error_code"'),
      terminalOr('error_message', '"v"."error_message"'),
      terminalOr('duration_sec', '"v"."duration_sec"'),
    ];
  }

  /** Which jobs a status change moves: forward from a live status, its token or call id matching. */
  private transitionWhere(): string {
    const jobs = `"${this.t.jobs}"`;
    // A job moves only forward from a live status; queued and terminal jobs rank above every target.
    const ranks = Object.entries(LIVE_STATUS_RANKS)
      .map(([name, rank]) => `when '${name}' then ${rank}`)
      .join(' ');
    return (
      `(case ${jobs}."status" ${ranks} else 99 end) < "v"."rank" ` +
      `and (${jobs}."lock_token" = "v"."lock_token" or ${jobs}."call_id" = "v"."call_id") ` +
      // An event about another call than the one the job holds changes nothing, token or not.
      `and ("v"."call_id" is null or ${jobs}."call_id" is null or ${jobs}."call_id" = "v"."call_id")`
    );
  }

  /**
   * Claims and status changes in one statement: each column is set as the row's kind sets it
   * (a column the kind does not set keeps its value), and each row is held to its kind's condition.
   */
  private handOffText(status: string): string {
    const jobs = `"${this.t.jobs}"`;
    const claim = new Map(this.claimSets());
    const transition = new Map(this.transitionSets());
    const columns = [...new Set([...transition.keys(), ...claim.keys()])];
    const sets = columns.map((column): Assignment => {
      const keep = `${jobs}."${column}"`;
      const whenClaim = claim.get(column) ?? keep;
      const otherwise = transition.get(column) ?? keep;
      return [column, `case when "v"."kind" = 'c' then ${whenClaim} else ${otherwise} end`];
    });
    const where =
      `(("v"."kind" = 'c' and ${this.claimWhere(status)}) or ` +
      `("v"."kind" = 't' and ${this.transitionWhere()}))`;
    const returning = [...new Set<string>([...CLAIMED_COLUMNS, ...JOB_ROUTE_COLUMNS])];
    return this.update(sets, HAND_OFF_COLUMNS, where, returning);
  }
}

/** A claim as a row of the statement's JSON. */
function claimRow(c: ClaimInput) {
  return { id: c.jobId, lock_token: c.lockToken, now: c.now, fence: c.fence ?? null };
}

/** A status change as a row of the statement's JSON. */
function transitionRow({ change, now }: TransitionInput) {
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
}
