import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { requireServer } from '../support/servers.js';
import { jobStoreContract } from './job-store.contract.js';

const available = requireServer('postgres');

/**
 * Runs `check` while every claim takes `seconds` inside its statement (a trigger sleeps), so
 * that other statements land in the middle of claims in flight.
 */
// biome-ignore lint/suspicious/noExplicitAny: tables of the store under test
async function withSlowClaims(db: Kysely<any>, seconds: number, check: () => Promise<void>): Promise<void> {
  await sql`create function oq_test_slow_claim() returns trigger language plpgsql as $$
    begin perform pg_sleep(${sql.lit(seconds)}); return new; end $$`.execute(db);
  await sql`create trigger oq_test_slow_claim before update on oq_jobs
    for each row when (new.status = 'dialing') execute function oq_test_slow_claim()`.execute(db);
  try {
    await check();
  } finally {
    await sql`drop trigger oq_test_slow_claim on oq_jobs`.execute(db);
    await sql`drop function oq_test_slow_claim()`.execute(db);
  }
}

describe.skipIf(!available)('KyselyStore on PostgreSQL', () => {
  let server: PostgresServerHandle;
  // biome-ignore lint/suspicious/noExplicitAny: tables of the store under test
  let dbs: Kysely<any>[] = [];
  let store: KyselyStore;
  let other: KyselyStore;

  beforeAll(async () => {
    server = await startPostgresServer();
    const url = await server.createDatabase('store_contract');
    // Two pools: the racing claimers really run at the same time, as two processes would.
    dbs = [postgresDb(url), postgresDb(url)];
    store = new KyselyStore({ db: dbs[0]! });
    other = new KyselyStore({ db: dbs[1]! });
    await store.migrate();
  });

  afterAll(async () => {
    for (const db of dbs) await db.destroy();
    await server?.stop();
  });

  it('a fence raised while claims are in flight waits for them and reads them as holders', async () => {
    // Every claim takes 100 ms inside its statement (a trigger sleeps), so the raise lands in the
    // middle of them: without the claim's share lock on the fence row it would read the holders
    // before those claims commit, and miss them.
    await withSlowClaims(dbs[0]!, 0.1, async () => {
      const jobs = Array.from({ length: 8 }, (_, i) => ({
        jobId: `slow-${i}`,
        seq: i + 1,
        to: '+14155550101',
        metadata: {},
      }));
      await store.createRun(
        { runId: 'r-slow', businessId: 'slow-biz', concurrency: 8, total: 8, createdAt: 1 },
        jobs,
      );
      const { fence } = await store.fenceSlots('slow-biz');
      const claims = Promise.all(jobs.map((job) => store.claimJob(job.jobId, `t-${job.jobId}`, 2, fence)));
      await new Promise((resolve) => setTimeout(resolve, 30));
      const raised = await other.fenceSlots('slow-biz');
      const winners = (await claims).filter((c) => c !== undefined).map((c) => c.jobId);
      expect(winners.length).toBeGreaterThan(0);
      expect(raised.holders.map((holder) => holder.jobId).sort()).toEqual(winners.sort());
    });
  });

  it('a batch of claims and a cancel of the same run never deadlock, whatever order their rows are in', async () => {
    // Job ids sort opposite to their seq. A claim batch locks its rows in id order; a cancel that
    // locked them in seq order would hold the last ids while the batch holds the first ones.
    await withSlowClaims(dbs[0]!, 0.05, async () => {
      const jobs = Array.from({ length: 6 }, (_, i) => ({
        jobId: `dl-${5 - i}`,
        seq: i + 1,
        to: '+14155550101',
        metadata: {},
      }));
      await store.createRun(
        { runId: 'r-dl', businessId: 'dl-biz', concurrency: 6, total: 6, createdAt: 1 },
        jobs,
      );
      // The first write of an idle store goes alone: the six claims then go as one batch.
      const claims = [
        store.claimJob('no-such-job', 't', 2),
        ...jobs.map((j) => store.claimJob(j.jobId, 't', 2)),
      ];
      await new Promise((resolve) => setTimeout(resolve, 80));
      const canceled = await other.cancelQueuedJobs('r-dl', 3);
      const claimed = (await Promise.all(claims)).filter((c) => c !== undefined);
      expect(claimed.length + canceled).toBe(6);
    });
  });

  jobStoreContract('PostgreSQL', () => ({
    store,
    other,
    reset: async () => {
      await dbs[0]!.deleteFrom('oq_attempts').execute();
      await dbs[0]!.deleteFrom('oq_jobs').execute();
      await dbs[0]!.deleteFrom('oq_runs').execute();
      await dbs[0]!.deleteFrom('oq_limiter_fences').execute();
      await dbs[0]!.deleteFrom('oq_businesses').execute();
      await dbs[0]!.deleteFrom('oq_groups').execute();
    },
  }));
});
