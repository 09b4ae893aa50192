import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchStatements } from '../../src/store/kysely/kysely-batch-statements.js';
import { tableNames } from '../../src/store/kysely/kysely-schema.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

describe('BatchStatements SQL text', () => {
  const t = tableNames('hs_');

  it('reads its rows from one JSON parameter, and share-locks the fence on PostgreSQL only', () => {
    const claims = [
      { jobId: 'j', lockToken: 'tok', now: 1, fence: 7 },
      { jobId: 'k', lockToken: 'tok2', now: 1 },
    ];
    const pg = new BatchStatements(t, true).claim(claims);
    expect(pg.sql).not.toContain('?');
    expect(pg.sql).toContain('json_to_recordset($1::json)');
    expect(pg.sql).toContain('"fence" = "v"."fence" for share');
    const lite = new BatchStatements(t, false).claim(claims);
    expect(lite.sql).not.toMatch(/\$\d/);
    expect(lite.sql).not.toContain('for share');
    expect(lite.sql.match(/\?/g)).toHaveLength(1);
    expect(lite.sql).toContain('"hs_jobs"');
    for (const q of [pg, lite]) {
      expect(JSON.parse(q.parameters[0] as string)).toEqual([
        { id: 'j', lock_token: 'tok', now: 1, fence: 7 },
        { id: 'k', lock_token: 'tok2', now: 1, fence: null },
      ]);
    }
  });

  it('has one SQL text for every transition shape; outcome fields only with a terminal status', () => {
    const batch = new BatchStatements(t, false);
    const a = batch.transition([
      { change: { jobId: 'a', lockToken: 'x', status: 'busy', durationSec: 2.6 }, now: 5 },
    ]);
    const b = batch.transition([
      {
        change: { jobId: 'b', callId: 'CA', answeredBy: 'human', status: 'ringing', errorCode: 'E' },
        now: 6,
      },
    ]);
    expect(b.sql).toBe(a.sql);
    expect(JSON.parse(a.parameters[0] as string)[0]).toMatchObject({
      terminal: true,
      duration_sec: 3,
      rank: 4,
    });
    expect(JSON.parse(b.parameters[0] as string)[0]).toMatchObject({
      terminal: false,
      error_code: null,
      answered_by: 'human',
      call_id: 'CA',
      lock_token: null,
      rank: 2,
    });
  });
});

/** Every optional field of the per-call statements lands in its column. */
// biome-ignore lint/suspicious/noExplicitAny: tables of the store under test
function hotStatementColumns(name: string, db: () => Kysely<any>) {
  describe(`KyselyStore per-call statements: ${name}`, () => {
    let store: KyselyStore;
    let n = 0;

    beforeAll(async () => {
      store = new KyselyStore({ db: db() });
      await store.migrate();
    });

    async function claimed(): Promise<{ runId: string; jobId: string }> {
      const runId = `r${++n}`;
      const jobId = `${runId}-j`;
      await store.createRun({ runId, businessId: 'b', concurrency: 1, total: 1, createdAt: 1 }, [
        { jobId, seq: 1, to: '+14155550101', metadata: { n } },
      ]);
      expect(await store.claimJob(jobId, 'tok', 2)).toMatchObject({ jobId, attempt: 1, metadata: { n } });
      return { runId, jobId };
    }

    it('writes the answering party, keeps the first call id and records the outcome', async () => {
      const { runId, jobId } = await claimed();
      expect(
        await store.transition(
          { jobId, lockToken: 'tok', callId: 'CA1', answeredBy: 'human', status: 'ringing' },
          3,
        ),
      ).toMatchObject({ jobId, runId, status: 'ringing', callId: 'CA1', lockToken: 'tok', updatedAt: 3 });
      await store.touchJob(jobId, 4);
      expect((await store.getJobRoute(jobId))?.updatedAt).toBe(4);
      const ended = await store.transition(
        { jobId, callId: 'CA2', status: 'completed', errorCode: 'E1', errorMessage: 'm', durationSec: 42 },
        5,
      );
      // Matched by neither token nor the recorded call id: nothing changes.
      expect(ended).toBeUndefined();
      expect(
        await store.transition({ jobId, callId: 'CA1', status: 'completed', durationSec: 42 }, 6),
      ).toMatchObject({ status: 'completed', callId: 'CA1', updatedAt: 6 });
      const [job] = await store.listJobs(runId, {});
      expect(job).toMatchObject({
        status: 'completed',
        callId: 'CA1',
        answeredBy: 'human',
        durationSec: 42,
        errorCode: undefined,
        endedAt: new Date(6),
      });
    });

    it('requeues with the error and clears the call, then pages the job again when due', async () => {
      const { runId, jobId } = await claimed();
      expect(await store.recordDialed(jobId, 'tok', 'CA9', 3)).toBe(true);
      expect(await store.requeueJob(jobId, 'tok', 100, { code: '20429', message: 'slow down' }, 4)).toBe(
        true,
      );
      expect(await store.requeueJob(jobId, 'tok', 100, { code: '20429', message: 'slow down' }, 4)).toBe(
        false,
      );
      const [job] = await store.listJobs(runId, {});
      expect(job).toMatchObject({
        status: 'queued',
        callId: undefined,
        errorCode: '20429',
        errorMessage: 'slow down',
      });
      expect(await store.nextQueuedJobs(runId, 0, 10, 99)).toEqual([]);
      expect(await store.nextQueuedJobs(runId, 0, 10, 100)).toEqual([{ jobId, seq: 1 }]);
      expect(await store.nextQueuedJobs(runId, 1, 10, 100)).toEqual([]);
      expect((await store.claimJob(jobId, 'tok2', 101))?.attempt).toBe(2);
    });
  });
}

describe('on SQLite', () => {
  const db = sqliteDb();
  afterAll(() => db.destroy());
  hotStatementColumns('SQLite', () => db);
});

const available = requireServer('postgres');

describe.skipIf(!available)('on PostgreSQL', () => {
  let server: PostgresServerHandle;
  // biome-ignore lint/suspicious/noExplicitAny: tables of the store under test
  let db: Kysely<any>;

  beforeAll(async () => {
    server = await startPostgresServer();
    db = postgresDb(await server.createDatabase('hot_statements'));
  });

  afterAll(async () => {
    await db?.destroy();
    await server?.stop();
  });

  hotStatementColumns('PostgreSQL', () => db);
});
