import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotStatements } from '../../src/store/kysely/kysely-hot-statements.js';
import { tableNames } from '../../src/store/kysely/kysely-schema.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

describe('HotStatements SQL text', () => {
  const t = tableNames('hs_');

  it('numbers the placeholders and share-locks the fence on PostgreSQL only', () => {
    const pg = new HotStatements(t, true).claim('j', 'tok', 1, 7);
    expect(pg.sql).not.toContain('?');
    expect(pg.sql).toContain('"fence" = $5 for share');
    expect(pg.parameters).toEqual(['tok', 1, 1, 'j', 7]);
    const lite = new HotStatements(t, false).claim('j', 'tok', 1, 7);
    expect(lite.sql).not.toMatch(/\$\d/);
    expect(lite.sql).not.toContain('for share');
    expect(lite.sql.match(/\?/g)).toHaveLength(5);
    expect(lite.sql).toContain('"hs_jobs"');
    expect(new HotStatements(t, false).claim('j', 'tok', 1).sql).not.toContain('hs_limiter_fences');
  });

  it('builds one SQL text per transition shape, with a parameter per placeholder', () => {
    const hot = new HotStatements(t, false);
    const end = (change: Parameters<HotStatements['transition']>[0]) => hot.transition(change, 5);
    const a = end({ jobId: 'a', lockToken: 'x', status: 'busy' });
    const b = end({ jobId: 'b', lockToken: 'y', status: 'failed', errorCode: 'E' });
    const c = end({ jobId: 'c', callId: 'CA', answeredBy: 'human', status: 'completed' });
    expect(b.sql).toBe(a.sql);
    expect(c.sql).not.toBe(a.sql);
    for (const q of [a, b, c]) expect(q.sql.match(/\?/g)).toHaveLength(q.parameters.length);
    const ringing = hot.transition({ jobId: 'd', lockToken: 'x', callId: 'CA', status: 'ringing' }, 5);
    expect(ringing.sql).not.toContain('ended_at');
    expect(ringing.sql.match(/\?/g)).toHaveLength(ringing.parameters.length);
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
      expect((await store.getJob(jobId))?.updatedAt).toBe(4);
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
