import type { CompiledQuery, Kysely, QueryResult } from 'kysely';
import { ValidationError } from '../../errors.js';
import type { SlotHolders } from '../../limiter/slot-limiter.js';
import type { ContactCap } from '../../policy/contact-cap.js';
import {
  JOB_STATUSES,
  type Job,
  type JobStatus,
  type ListJobsOptions,
  type RunStatus,
  type WaitingCounts,
} from '../../types.js';
import type {
  BusinessLimitsRecord,
  BusinessLoad,
  BusinessRecord,
  ClaimedJob,
  CreateRunResult,
  DeferredJob,
  EndedCall,
  GroupLimitsRecord,
  GroupRecord,
  JobRoute,
  JobStore,
  JobsOffCall,
  JobTransition,
  NewJob,
  NewRun,
  PurgedJobs,
  PutBusinessLimitsResult,
  QueuedJobRef,
  RunLimitsChange,
  RunQuery,
  RunRecord,
  TransitionResult,
} from '../job-store.js';
import { statusesBefore } from '../job-transitions.js';
import { BatchStatements } from './kysely-batch-statements.js';
import {
  getBusiness,
  getGroup,
  listGroupMembers,
  putBusinessLimits,
  putGroupLimits,
  setBusinessPaused,
  setRunLimits,
} from './kysely-business-limits.js';
import { businessLoads } from './kysely-business-loads.js';
import { claimUnderCap } from './kysely-contact-caps.js';
import { HotStatements } from './kysely-hot-statements.js';
import { readJobWithAttempts, writeRequeue, writeRetry } from './kysely-job-retries.js';
import { jobsOffCall, liveCallIds, silentJobs } from './kysely-live-jobs.js';
import { migrateStore } from './kysely-migrations.js';
import { cancelQueuedJobs, countWaiting, deferJobs, nextRetryAt } from './kysely-queued-jobs.js';
import { finishedRuns, purgeRunJobs } from './kysely-retention.js';
import {
  JOB_ROUTE_COLUMNS,
  toClaimedJob,
  toJob,
  toJobRoute,
  toNumber,
  toRunRecord,
} from './kysely-row-mappers.js';
import { leaseRuns, releaseRuns } from './kysely-run-leases.js';
import {
  countJobs,
  countJobsByRun,
  countUnfinished,
  countUnplacedClaims,
  listRuns,
} from './kysely-run-listing.js';
import { writeRun } from './kysely-run-writer.js';
import { type JobRow, type RunRow, type TableNames, tableNames } from './kysely-schema.js';
import { raiseScopeFence, readFence, readFencedScope } from './kysely-slot-fences.js';
import { WriteBatcher } from './kysely-write-batcher.js';
import { SerialExecutor } from './serial-executor.js';
import { storeDialect } from './store-dialect.js';

/**
 * Most rows per INSERT: a job row binds 13 parameters, and SQLite allows 32,766 in one statement.
 */
const MAX_INSERT_BATCH = 2000;

/** Options of {@link KyselyStore}. */
export interface KyselyStoreOptions {
  /**
   * The host's Kysely instance, on a SQLite or PostgreSQL dialect (another throws a
   * `ValidationError` at once). The store never destroys it.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the store works on any host schema; its own tables are prefixed
  db: Kysely<any>;
  /** Prefix of the store's table names (default `oq_`). */
  tablePrefix?: string;
  /** Rows per INSERT when writing a run's jobs (1 to 2,000; default 1,000). */
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
  /** PostgreSQL (several writers at once) rather than SQLite (one writer). */
  private readonly postgres: boolean;
  /** Frequent single-row statements, built once. */
  private readonly hot: HotStatements;
  /** The per-call statements (claims, call ids, status changes). */
  private readonly statements: BatchStatements;
  /** The per-call writes, written in batches. */
  private readonly writes: WriteBatcher;
  /**
   * SQLite: the store's statements wait here in arrival order. Kysely's SQLite driver guards its
   * one connection with a mutex that wakes every waiter on each release, so W concurrent calls
   * cost O(W) per statement; in front of it, only one call of this store waits there at a time.
   * PostgreSQL has a pool and runs them at once.
   */
  private readonly serial: SerialExecutor | undefined;

  /**
   * @param options - the host's database and table settings
   */
  constructor(options: KyselyStoreOptions) {
    this.db = options.db;
    this.t = tableNames(options.tablePrefix ?? 'oq_');
    this.batchSize = options.insertBatchSize ?? 1000;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > MAX_INSERT_BATCH) {
      throw new ValidationError([
        { field: 'insertBatchSize', message: `must be a whole number from 1 to ${MAX_INSERT_BATCH}` },
      ]);
    }
    const dialect = storeDialect(this.db);
    const postgres = dialect === 'postgres';
    this.postgres = postgres;
    this.hot = new HotStatements(this.t, postgres);
    this.serial = dialect === 'sqlite' ? new SerialExecutor() : undefined;
    this.statements = new BatchStatements(this.t, postgres);
    this.writes = new WriteBatcher(this.statements, (query) => this.run(query));
  }

  /**
   * Runs `task` after the store's earlier tasks on SQLite (at once on PostgreSQL). A task runs
   * statements on `this.db` or in a transaction of its own, and never calls `serialized` itself:
   * it would wait on itself. A transaction inside a task holds the queue until it ends, which
   * blocks nothing it needs.
   */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    return this.serial ? this.serial.run(task) : task();
  }

  /** Runs one prebuilt statement (see {@link HotStatements} and {@link BatchStatements}). */
  private run<R>(query: CompiledQuery<R>): Promise<QueryResult<R>> {
    return this.serialized(() => this.db.executeQuery(query));
  }

  async migrate(): Promise<void> {
    await this.serialized(() => migrateStore(this.db, this.t));
  }

  async createRun(run: NewRun, jobs: Iterable<NewJob>): Promise<CreateRunResult> {
    const created = await this.serialized(() => writeRun(this.db, this.t, run, jobs, this.batchSize));
    const stored = await this.getRun(run.runId);
    if (!stored) throw new Error(`run ${run.runId} vanished after it was written`);
    return { run: stored, created };
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = await this.serialized(() =>
      this.db.selectFrom(this.t.runs).selectAll().where('id', '=', runId).executeTakeFirst(),
    );
    return row ? toRunRecord(row as RunRow) : undefined;
  }

  async countJobs(runId: string): Promise<Partial<Record<JobStatus, number>>> {
    return this.serialized(() => countJobs(this.db, this.t, runId));
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
    const rows = await this.serialized(() =>
      query
        .orderBy('seq')
        .limit(options.limit ?? 100)
        .execute(),
    );
    return rows.map((row) => toJob(row as JobRow));
  }

  async listRuns(query: RunQuery): Promise<RunRecord[]> {
    return this.serialized(() => listRuns(this.db, this.t, query));
  }

  async countJobsByRun(runIds: readonly string[]): Promise<Map<string, Partial<Record<JobStatus, number>>>> {
    return this.serialized(() => countJobsByRun(this.db, this.t, runIds));
  }

  async countWaiting(runId: string, now: number): Promise<WaitingCounts> {
    return this.serialized(() => countWaiting(this.db, this.t, runId, now));
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    return this.serialized(() => readJobWithAttempts(this.db, this.t, jobId));
  }

  async getJobRoute(jobId: string): Promise<JobRoute | undefined> {
    const row = await this.serialized(() =>
      this.db.selectFrom(this.t.jobs).select(JOB_ROUTE_COLUMNS).where('id', '=', jobId).executeTakeFirst(),
    );
    return row ? toJobRoute(row as JobRow) : undefined;
  }

  async nextQueuedJobs(
    runId: string,
    afterSeq: number,
    limit: number,
    now: number,
    withNumbers = false,
  ): Promise<QueuedJobRef[]> {
    const { rows } = await this.run(this.hot.nextQueued(runId, afterSeq, limit, now, withNumbers));
    if (!withNumbers) return rows.map((row) => ({ jobId: row.id, seq: toNumber(row.seq) }));
    return rows.map((row) => ({
      jobId: row.id,
      seq: toNumber(row.seq),
      to: row.to_number,
      timeZone: row.time_zone ?? undefined,
    }));
  }

  async deferJobs(jobs: readonly DeferredJob[], now: number): Promise<void> {
    if (jobs.length > 0) await this.serialized(() => deferJobs(this.db, this.t, jobs, now));
  }

  async nextRetryAt(runId: string, now: number): Promise<number | undefined> {
    return this.serialized(() => nextRetryAt(this.db, this.t, runId, now));
  }

  async claimJob(
    jobId: string,
    lockToken: string,
    now: number,
    fence?: number,
    cap?: ContactCap,
  ): Promise<ClaimedJob | undefined> {
    if (!cap) return toClaimedJob(await this.writes.claim({ jobId, lockToken, now, fence }), lockToken);
    const claim = this.statements.claim([{ jobId, lockToken, now, fence }]);
    const row = await this.serialized(() =>
      claimUnderCap(this.db, this.t, this.postgres, claim, jobId, now, cap),
    );
    return toClaimedJob(row, lockToken);
  }

  async claimJobAfter(
    end: EndedCall,
    jobId: string,
    lockToken: string,
    now: number,
    fence?: number,
  ): Promise<ClaimedJob | undefined | 'apart'> {
    const claiming = this.writes.claimAfter(end, { jobId, lockToken, now, fence });
    return claiming === undefined ? 'apart' : toClaimedJob(await claiming, lockToken);
  }

  async recordDialed(jobId: string, lockToken: string, callId: string, now: number): Promise<boolean> {
    return (await this.writes.dialed({ jobId, lockToken, callId, now })) !== undefined;
  }

  async transition(change: JobTransition, now: number): Promise<TransitionResult> {
    const from = statusesBefore(change.status);
    if (from.length === 0 || (change.lockToken === undefined && change.callId === undefined))
      return undefined;
    const row = await this.writes.transition({ change, now });
    return row ? toJobRoute(row) : undefined;
  }

  async requeueJob(
    jobId: string,
    lockToken: string,
    notBefore: number,
    error: { code: string; message: string },
    now: number,
  ): Promise<boolean> {
    const requeue = this.hot.requeue(jobId, lockToken, notBefore, error, now);
    return this.serialized(() => writeRequeue(this.db, this.t, requeue, jobId, lockToken, error, now));
  }

  async retryJob(change: JobTransition, retryAt: number, now: number): Promise<JobRoute | undefined> {
    return this.serialized(() => writeRetry(this.db, this.t, change, retryAt, now, this.postgres));
  }

  async countUnplacedClaims(runId: string): Promise<number> {
    return this.serialized(() => countUnplacedClaims(this.db, this.t, runId));
  }

  async touchJob(jobId: string, now: number): Promise<void> {
    await this.run(this.hot.touch(jobId, now));
  }

  async setRunStatus(
    runId: string,
    from: readonly RunStatus[],
    to: RunStatus,
    now: number,
  ): Promise<boolean> {
    const final = to === 'stopped' || to === 'completed';
    const result = await this.serialized(() =>
      this.db
        .updateTable(this.t.runs)
        .set({ status: to, updated_at: now, ...(final ? { finished_at: now, owner_id: null } : {}) })
        .where('id', '=', runId)
        .where('status', 'in', [...from])
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async cancelQueuedJobs(runId: string, now: number): Promise<number> {
    return this.serialized(() => cancelQueuedJobs(this.db, this.t, this.postgres, runId, now));
  }

  async countUnfinished(runId: string): Promise<number> {
    return this.serialized(() => countUnfinished(this.db, this.t, runId));
  }

  async jobsOffCall(jobIds: readonly string[]): Promise<JobsOffCall> {
    return jobsOffCall(this.db, this.t, jobIds, this.batchSize, (task) => this.serialized(task));
  }

  async fenceSlots(key: string, above?: number): Promise<SlotHolders> {
    const fenced = await this.serialized(() => raiseScopeFence(this.db, this.t, this.postgres, key, above));
    return this.serialized(() => readFencedScope(this.db, this.t, key, fenced));
  }

  async slotFence(businessId: string): Promise<number> {
    return this.serialized(() => readFence(this.db, this.t, businessId));
  }

  async liveCallIds(runId: string): Promise<string[]> {
    return this.serialized(() => liveCallIds(this.db, this.t, runId));
  }

  async silentJobs(before: number, limit: number): Promise<JobRoute[]> {
    return this.serialized(() => silentJobs(this.db, this.t, before, limit));
  }

  async leaseRuns(ownerId: string, now: number, until: number, maxNew: number): Promise<RunRecord[]> {
    return this.serialized(() => leaseRuns(this.db, this.t.runs, { ownerId, now, until, maxNew }));
  }

  async releaseRuns(ownerId: string): Promise<void> {
    await this.serialized(() => releaseRuns(this.db, this.t.runs, ownerId));
  }

  async getBusiness(businessId: string): Promise<BusinessRecord | undefined> {
    return this.serialized(() => getBusiness(this.db, this.t, businessId));
  }

  async businessLoads(): Promise<BusinessLoad[]> {
    return this.serialized(() => businessLoads(this.db, this.t));
  }

  async putBusinessLimits(
    businessId: string,
    limits: BusinessLimitsRecord,
    now: number,
  ): Promise<PutBusinessLimitsResult> {
    return this.serialized(() => putBusinessLimits(this.db, this.t, this.postgres, businessId, limits, now));
  }

  async setBusinessPaused(businessId: string, paused: boolean, now: number): Promise<void> {
    await this.serialized(() => setBusinessPaused(this.db, this.t, businessId, paused, now));
  }

  async getGroup(group: string): Promise<GroupRecord | undefined> {
    return this.serialized(() => getGroup(this.db, this.t, group));
  }

  async putGroupLimits(group: string, limits: GroupLimitsRecord, now: number): Promise<void> {
    await this.serialized(() => putGroupLimits(this.db, this.t, group, limits, now));
  }

  async listGroupMembers(group: string): Promise<string[]> {
    return this.serialized(() => listGroupMembers(this.db, this.t, group));
  }

  async setRunLimits(runId: string, change: RunLimitsChange, now: number): Promise<RunRecord | undefined> {
    return this.serialized(() => setRunLimits(this.db, this.t, runId, change, now));
  }

  async finishedRuns(before: number, limit: number): Promise<string[]> {
    return this.serialized(() => finishedRuns(this.db, this.t, before, limit));
  }

  async purgeRunJobs(runId: string, maxJobs: number): Promise<PurgedJobs> {
    return this.serialized(() => purgeRunJobs(this.db, this.t, runId, maxJobs));
  }
}
