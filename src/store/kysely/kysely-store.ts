import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { SlotHolders } from '../../limiter/slot-limiter.js';
import {
  JOB_STATUSES,
  type Job,
  type JobStatus,
  LIVE_JOB_STATUSES,
  type ListJobsOptions,
  type RunStatus,
  TERMINAL_JOB_STATUSES,
} from '../../types.js';
import type {
  ClaimedJob,
  CreateRunResult,
  JobRoute,
  JobStore,
  JobTransition,
  NewJob,
  NewRun,
  QueuedJobRef,
  RunRecord,
  TransitionResult,
} from '../job-store.js';
import { isTerminal, statusesBefore } from '../job-transitions.js';
import { migrateStore } from './kysely-migrations.js';
import { JOB_ROUTE_COLUMNS, toJob, toJobRoute, toNumber, toRunRecord } from './kysely-row-mappers.js';
import { leaseRuns, releaseRuns } from './kysely-run-leases.js';
import { writeRun } from './kysely-run-writer.js';
import { type JobRow, type RunRow, type TableNames, tableNames } from './kysely-schema.js';

/** Options of {@link KyselyStore}. */
export interface KyselyStoreOptions {
  /** The host's Kysely instance (SQLite or PostgreSQL dialect). The store never destroys it. */
  // biome-ignore lint/suspicious/noExplicitAny: the store works on any host schema; its own tables are prefixed
  db: Kysely<any>;
  /** Prefix of the store's table names (default `oq_`). */
  tablePrefix?: string;
  /** Rows per INSERT when writing a run's jobs (default 1,000). */
  insertBatchSize?: number;
}

/**
 * The job store on a host's Kysely database: SQLite (better-sqlite3) or PostgreSQL (pg).
 * Claims and event writes are single compare-and-set statements, so any number of processes
 * may share one database.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { Kysely, SqliteDialect } from 'kysely';
 * import { KyselyStore } from 'outbound-queue/kysely';
 *
 * const db = new Kysely({ dialect: new SqliteDialect({ database: new Database('calls.db') }) });
 * const store = new KyselyStore({ db });
 * ```
 */
export class KyselyStore implements JobStore {
  // biome-ignore lint/suspicious/noExplicitAny: see KyselyStoreOptions.db
  private readonly db: Kysely<any>;
  private readonly t: TableNames;
  private readonly batchSize: number;
  /** PostgreSQL: a fenced claim locks the fence row (SQLite serializes its writers already). */
  private readonly lockFences: boolean;

  /**
   * @param options - the host's database and table settings
   */
  constructor(options: KyselyStoreOptions) {
    this.db = options.db;
    this.t = tableNames(options.tablePrefix ?? 'oq_');
    this.batchSize = options.insertBatchSize ?? 1000;
    this.lockFences = this.db.getExecutor().adapter instanceof PostgresAdapter;
  }

  async migrate(): Promise<void> {
    await migrateStore(this.db, this.t);
  }

  async createRun(run: NewRun, jobs: Iterable<NewJob>): Promise<CreateRunResult> {
    const created = await writeRun(this.db, this.t, run, jobs, this.batchSize);
    const stored = await this.getRun(run.runId);
    if (!stored) throw new Error(`run ${run.runId} vanished after it was written`);
    return { run: stored, created };
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = await this.db.selectFrom(this.t.runs).selectAll().where('id', '=', runId).executeTakeFirst();
    return row ? toRunRecord(row as RunRow) : undefined;
  }

  async countJobs(runId: string): Promise<Partial<Record<JobStatus, number>>> {
    const rows = await this.db
      .selectFrom(this.t.jobs)
      .select(['status', (eb) => eb.fn.countAll().as('n')])
      .where('run_id', '=', runId)
      .groupBy('status')
      .execute();
    const counts: Partial<Record<JobStatus, number>> = {};
    for (const row of rows) counts[row.status as JobStatus] = toNumber(row.n as number | string);
    return counts;
  }

  async listJobs(runId: string, options: ListJobsOptions): Promise<Job[]> {
    let query = this.db.selectFrom(this.t.jobs).selectAll().where('run_id', '=', runId);
    if (options.status !== undefined) {
      const statuses = typeof options.status === 'string' ? [options.status] : [...options.status];
      query = query.where('status', 'in', statuses.length > 0 ? statuses : [...JOB_STATUSES]);
    }
    if (options.after !== undefined) {
      const after = this.db.selectFrom(this.t.jobs).select('seq').where('id', '=', options.after);
      query = query.where('seq', '>', after);
    }
    const rows = await query
      .orderBy('seq')
      .limit(options.limit ?? 100)
      .execute();
    return rows.map((row) => toJob(row as JobRow));
  }

  async getJob(jobId: string): Promise<JobRoute | undefined> {
    const row = await this.db
      .selectFrom(this.t.jobs)
      .select(JOB_ROUTE_COLUMNS)
      .where('id', '=', jobId)
      .executeTakeFirst();
    return row ? toJobRoute(row as JobRow) : undefined;
  }

  async nextQueuedJobs(runId: string, afterSeq: number, limit: number, now: number): Promise<QueuedJobRef[]> {
    const rows = await this.db
      .selectFrom(this.t.jobs)
      .select(['id', 'seq'])
      .where('run_id', '=', runId)
      .where('status', '=', 'queued')
      .where('seq', '>', afterSeq)
      .where((eb) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', now)]))
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom(this.t.runs)
            .select(sql.lit(1).as('one'))
            .where('id', '=', runId)
            .where('status', '=', 'running'),
        ),
      )
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ jobId: row.id as string, seq: toNumber(row.seq as number) }));
  }

  async nextRetryAt(runId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom(this.t.jobs)
      .select((eb) => eb.fn.min('not_before').as('at'))
      .where('run_id', '=', runId)
      .where('status', '=', 'queued')
      .where('not_before', 'is not', null)
      .executeTakeFirst();
    return row?.at === null || row?.at === undefined ? undefined : toNumber(row.at as number | string);
  }

  async claimJob(
    jobId: string,
    lockToken: string,
    now: number,
    fence?: number,
  ): Promise<ClaimedJob | undefined> {
    const { runs, jobs, fences } = this.t;
    let claim = this.db
      .updateTable(jobs)
      .set({
        status: 'dialing',
        lock_token: lockToken,
        attempt: sql`attempt + 1`,
        claimed_at: now,
        updated_at: now,
        not_before: null,
      })
      .where('id', '=', jobId)
      .where('status', '=', 'queued')
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom(runs)
            .select(sql.lit(1).as('one'))
            .whereRef(`${runs}.id`, '=', `${jobs}.run_id`)
            .where(`${runs}.status`, '=', 'running'),
        ),
      );
    if (fence !== undefined) {
      // On PostgreSQL the share lock makes a concurrent fenceSlots() wait for this claim to commit
      // (then it reads this job as a holder), or makes this claim see the raised token and fail.
      claim = claim.where((eb) => {
        let current = eb
          .selectFrom(fences)
          .select(sql.lit(1).as('one'))
          .whereRef(`${fences}.business_id`, '=', `${jobs}.business_id`)
          .where(`${fences}.fence`, '=', fence);
        if (this.lockFences) current = current.forShare();
        return eb.exists(current);
      });
    }
    const row = await claim
      .returning(['id', 'run_id', 'business_id', 'to_number', 'from_number', 'attempt', 'metadata'])
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      jobId: row.id,
      runId: row.run_id,
      businessId: row.business_id,
      to: row.to_number,
      from: row.from_number ?? undefined,
      attempt: toNumber(row.attempt),
      lockToken,
      metadata: JSON.parse(row.metadata),
    };
  }

  async recordDialed(jobId: string, lockToken: string, callId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable(this.t.jobs)
      .set({ call_id: callId, dialed_at: now })
      .where('id', '=', jobId)
      .where('lock_token', '=', lockToken)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async transition(change: JobTransition, now: number): Promise<TransitionResult> {
    const from = statusesBefore(change.status);
    if (from.length === 0 || (change.lockToken === undefined && change.callId === undefined))
      return undefined;
    const terminal = isTerminal(change.status);
    const row = await this.db
      .updateTable(this.t.jobs)
      .set({
        status: change.status,
        updated_at: now,
        ...(change.callId === undefined ? {} : { call_id: sql`coalesce(call_id, ${change.callId})` }),
        ...(change.answeredBy === undefined ? {} : { answered_by: change.answeredBy }),
        ...(terminal
          ? {
              ended_at: now,
              error_code: change.errorCode ?? null,
              error_message: change.errorMessage ?? null,
              duration_sec: change.durationSec ?? null,
            }
          : {}),
      })
      .where('id', '=', change.jobId)
      .where('status', 'in', from)
      .where((eb) => {
        const matches = [];
        if (change.lockToken !== undefined) matches.push(eb('lock_token', '=', change.lockToken));
        if (change.callId !== undefined) matches.push(eb('call_id', '=', change.callId));
        return eb.or(matches);
      })
      .returning(JOB_ROUTE_COLUMNS)
      .executeTakeFirst();
    return row ? toJobRoute(row as JobRow) : undefined;
  }

  async requeueJob(
    jobId: string,
    lockToken: string,
    notBefore: number,
    error: { code: string; message: string },
    now: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable(this.t.jobs)
      .set({
        status: 'queued',
        lock_token: null,
        call_id: null,
        not_before: notBefore,
        error_code: error.code,
        error_message: error.message,
        updated_at: now,
      })
      .where('id', '=', jobId)
      .where('lock_token', '=', lockToken)
      .where('status', '=', 'dialing')
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom(`${this.t.runs} as r`)
            .select(sql.lit(1).as('one'))
            .whereRef('r.id', '=', `${this.t.jobs}.run_id`)
            .where('r.status', 'in', ['running', 'paused']),
        ),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async countUnplacedClaims(runId: string): Promise<number> {
    const row = await this.db
      .selectFrom(this.t.jobs)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('run_id', '=', runId)
      .where('status', '=', 'dialing')
      .where('call_id', 'is', null)
      .executeTakeFirstOrThrow();
    return toNumber(row.n as number | string);
  }

  async touchJob(jobId: string, now: number): Promise<void> {
    await this.db.updateTable(this.t.jobs).set({ updated_at: now }).where('id', '=', jobId).execute();
  }

  async setRunStatus(
    runId: string,
    from: readonly RunStatus[],
    to: RunStatus,
    now: number,
  ): Promise<boolean> {
    const final = to === 'stopped' || to === 'completed';
    const result = await this.db
      .updateTable(this.t.runs)
      .set({ status: to, updated_at: now, ...(final ? { finished_at: now, owner_id: null } : {}) })
      .where('id', '=', runId)
      .where('status', 'in', [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async cancelQueuedJobs(runId: string, now: number): Promise<number> {
    const result = await this.db
      .updateTable(this.t.jobs)
      .set({ status: 'canceled', ended_at: now, updated_at: now })
      .where('run_id', '=', runId)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async countUnfinished(runId: string): Promise<number> {
    const row = await this.db
      .selectFrom(this.t.jobs)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('run_id', '=', runId)
      .where('status', 'not in', [...TERMINAL_JOB_STATUSES])
      .executeTakeFirstOrThrow();
    return toNumber(row.n as number | string);
  }

  async endedJobIds(jobIds: readonly string[]): Promise<string[]> {
    const live = new Set<string>();
    // In slices: SQLite caps the number of bound parameters of one statement.
    for (let i = 0; i < jobIds.length; i += this.batchSize) {
      const rows = await this.db
        .selectFrom(this.t.jobs)
        .select('id')
        .where('id', 'in', jobIds.slice(i, i + this.batchSize))
        .where('status', 'not in', [...TERMINAL_JOB_STATUSES])
        .execute();
      for (const row of rows) live.add(row.id as string);
    }
    return jobIds.filter((id) => !live.has(id));
  }

  async fenceSlots(businessId: string): Promise<SlotHolders> {
    const { fences } = this.t;
    // Raised (and committed) before the holders are read: a claim with the old token either
    // committed first, and is read below, or fails.
    const raised = await this.db
      .insertInto(fences)
      .values({ business_id: businessId, fence: 1 })
      .onConflict((oc) =>
        oc.column('business_id').doUpdateSet({ fence: sql`${sql.ref(`${fences}.fence`)} + 1` }),
      )
      .returning('fence')
      .executeTakeFirstOrThrow();
    return { fence: toNumber(raised.fence as number | string), holders: await this.liveJobIds(businessId) };
  }

  private async liveJobIds(businessId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom(this.t.jobs)
      .select('id')
      .where('business_id', '=', businessId)
      .where('status', 'in', [...LIVE_JOB_STATUSES])
      .execute();
    return rows.map((row) => row.id as string);
  }

  async liveCallIds(runId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom(this.t.jobs)
      .select('call_id')
      .where('run_id', '=', runId)
      .where('status', 'in', [...LIVE_JOB_STATUSES])
      .where('call_id', 'is not', null)
      .execute();
    return rows.map((row) => row.call_id as string);
  }

  async silentJobs(before: number, limit: number): Promise<JobRoute[]> {
    const rows = await this.db
      .selectFrom(this.t.jobs)
      .select(JOB_ROUTE_COLUMNS)
      .where('status', 'in', [...LIVE_JOB_STATUSES])
      .where('updated_at', '<', before)
      .orderBy('updated_at')
      .limit(limit)
      .execute();
    return rows.map((row) => toJobRoute(row as JobRow));
  }

  async leaseRuns(ownerId: string, now: number, until: number, maxNew: number): Promise<RunRecord[]> {
    return leaseRuns(this.db, this.t.runs, { ownerId, now, until, maxNew });
  }

  async releaseRuns(ownerId: string): Promise<void> {
    await releaseRuns(this.db, this.t.runs, ownerId);
  }
}
