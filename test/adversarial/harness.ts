import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Dialer } from '../../src/dialer/dialer.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { CallStatus } from '../../src/types.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { leads } from '../support/queue-fixture.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { pollUntil } from '../support/servers.js';
import { readLog } from './call-log.js';
import { CallProvider, type CallProviderOptions } from './call-provider.js';
import type { AuditedJob } from './run-audit.js';
import { WorkerPool, type WorkerSettings } from './worker-pool.js';

/** Slot and run leases of the workers: short, so that recovery happens within a test. */
export const LEASE_MS = 1200;
/** How long a scenario's runs may take before the test reports them stuck. */
export const RUNS_DEADLINE_MS = 75_000;

const TERMINAL = ['completed', 'busy', 'no_answer', 'failed', 'canceled'];

/** One business of a scenario: its run's concurrency and number of leads. */
export interface Business {
  id: string;
  concurrency: number;
  leads: number;
}

/** A whole number from `min` to `max`, both included. */
export const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** Mostly answered calls, some busy or unanswered: the job must end as its call did. */
export function someOutcome(): CallStatus {
  const r = Math.random();
  return r < 0.8 ? 'completed' : r < 0.9 ? 'busy' : 'no-answer';
}

/** Counts items per key. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** What a scenario is made of. */
export interface Scenario {
  // biome-ignore lint/suspicious/noExplicitAny: the store's tables, read back by the test
  db: Kysely<any>;
  /** The shared log. */
  logFile: string;
  /** The phone network. */
  calls: CallProvider;
  /** The worker processes. */
  pool: WorkerPool;
  /** Starts (and stops) runs; never calls start(), so workers must adopt its runs. */
  admin: OutboundQueue;
}

/**
 * Real Redis and PostgreSQL for the multi-process suites, and the scenarios built on them: each
 * scenario has its own database, Redis prefix, shared log, call provider and worker pool.
 */
export class Harness {
  private readonly cleanups: (() => Promise<void>)[] = [];

  private constructor(
    readonly redis: RedisServerHandle,
    readonly pg: PostgresServerHandle,
    /** A temp dir for logs and control files. */
    readonly dir: string,
  ) {}

  /** Starts the servers. */
  static async start(): Promise<Harness> {
    const [redis, pg] = await Promise.all([startRedisServer(), startPostgresServer()]);
    return new Harness(redis, pg, mkdtempSync(join(tmpdir(), 'oq-adversarial-')));
  }

  /** Stops every scenario's workers and the servers; OQ_KEEP_LOGS=1 keeps the logs for a post-mortem. */
  async close(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => {});
    await this.redis.stop();
    await this.pg.stop();
    if (process.env.OQ_KEEP_LOGS) console.log(`logs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * A database, a log, a provider, a worker pool (no worker started yet) and the admin queue.
   * @param name - names the database, the Redis prefix and the log
   * @param workerOptions - the workers' dial rate, control file, and lease (default {@link LEASE_MS}, the admin's too)
   */
  async scenario(
    name: string,
    provider: Omit<CallProviderOptions, 'logFile' | 'workers'>,
    workerOptions: Partial<Pick<WorkerSettings, 'dialsPerSecond' | 'controlFile' | 'leaseMs'>> = {},
  ): Promise<Scenario> {
    const dbUrl = await this.pg.createDatabase(name);
    const logFile = join(this.dir, `${name}.log`);
    writeFileSync(logFile, '');
    const db = postgresDb(dbUrl, 4);
    const redis = new Redis(this.redis.url);
    redis.on('error', () => {});
    let pool: WorkerPool | undefined;
    const calls = new CallProvider({ ...provider, logFile, workers: () => pool?.live() ?? [] });
    await calls.listen();
    pool = new WorkerPool({
      dbUrl,
      redisUrl: this.redis.url,
      redisPrefix: name,
      providerUrl: calls.url,
      logFile,
      leaseMs: LEASE_MS,
      ...workerOptions,
    });
    const neverDials: Dialer = {
      dial: async () => {
        throw new Error('the queue that never started dialed');
      },
    };
    const admin = new OutboundQueue({
      store: new KyselyStore({ db }),
      limiter: new RedisSlotLimiter({ redis, prefix: name }),
      dialer: neverDials,
      leaseMs: workerOptions.leaseMs ?? LEASE_MS,
    });
    await admin.migrate();
    const workers = pool;
    this.cleanups.push(async () => {
      await workers.stopAll();
      await calls.close();
      await admin.close();
      redis.disconnect();
      await db.destroy();
    });
    return { db, logFile, calls, pool: workers, admin };
  }
}

/** Starts one run per business, each with its own leads (distinct numbers and lead ids). */
export async function startRuns(admin: OutboundQueue, businesses: readonly Business[]) {
  let offset = 0;
  const runs = [];
  for (const b of businesses) {
    runs.push(
      await admin.startRun({ businessId: b.id, concurrency: b.concurrency, leads: leads(b.leads, offset) }),
    );
    offset += b.leads;
  }
  return runs;
}

/** Every job row, as the audit reads them. */
// biome-ignore lint/suspicious/noExplicitAny: see Scenario.db
export async function readJobs(db: Kysely<any>): Promise<AuditedJob[]> {
  const rows = await db
    .selectFrom('oq_jobs')
    .select([
      'id',
      'run_id',
      'business_id',
      'lead_id',
      'status',
      'attempt',
      'lock_token',
      'call_id',
      'error_code',
    ])
    .orderBy('business_id')
    .orderBy('seq')
    .execute();
  return rows as AuditedJob[];
}

// biome-ignore lint/suspicious/noExplicitAny: see Scenario.db
async function countOpen(db: Kysely<any>, runStatuses: readonly string[]): Promise<number> {
  const jobs = await db
    .selectFrom('oq_jobs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('status', 'not in', TERMINAL)
    .executeTakeFirstOrThrow();
  const runs = await db
    .selectFrom('oq_runs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('status', 'in', [...runStatuses])
    .executeTakeFirstOrThrow();
  return Number(jobs.n) + Number(runs.n);
}

/**
 * Polls the database until every job is terminal and every run completed (a deadline, not a
 * sleep); on timeout, fails with the stuck jobs, the runs, the workers and the log's tail.
 */
export async function waitForAllRuns(sc: Scenario): Promise<void> {
  const { db, logFile, pool } = sc;
  if (
    await pollUntil(
      async () => (await countOpen(db, ['running', 'paused', 'stopped'])) === 0,
      RUNS_DEADLINE_MS,
      100,
    )
  )
    return;
  const stuck = await db
    .selectFrom('oq_jobs')
    .select(['id', 'business_id', 'status', 'call_id', 'updated_at'])
    .where('status', 'not in', TERMINAL)
    .execute();
  const runs = await db.selectFrom('oq_runs').select(['id', 'business_id', 'status', 'owner_id']).execute();
  const tail = readLog(logFile)
    .filter((e) => e.src !== 'provider' || !e.ev.startsWith('event:'))
    .slice(-40);
  throw new Error(
    `runs not finished after ${RUNS_DEADLINE_MS} ms\nstuck jobs: ${JSON.stringify(stuck)}\nruns: ${JSON.stringify(runs)}\n` +
      `workers: ${pool.all.map((w) => `${w.pid}:${w.fate ?? 'live'}`).join(' ')}\nlog tail:\n${tail.map((e) => JSON.stringify(e)).join('\n')}`,
  );
}

/** Polls until every job is terminal and no run is running or paused (stopped runs stay stopped). */
export async function waitForSettled(sc: Scenario): Promise<void> {
  const settled = async () => (await countOpen(sc.db, ['running', 'paused'])) === 0;
  if (!(await pollUntil(settled, RUNS_DEADLINE_MS, 100))) throw new Error('runs did not settle in time');
}
