import type { CompiledQuery, Kysely, QueryResult } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchStatements } from '../../src/store/kysely/kysely-batch-statements.js';
import { tableNames } from '../../src/store/kysely/kysely-schema.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { WriteBatcher } from '../../src/store/kysely/kysely-write-batcher.js';
import { sqliteDb } from '../support/sqlite.js';

/** The ids of the rows a batch statement was given. */
function rowIds(query: CompiledQuery): string[] {
  return (JSON.parse(query.parameters[0] as string) as { id: string }[]).map((row) => row.id);
}

describe('WriteBatcher (on SQLite)', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the store's untyped tables
  let db: Kysely<any>;
  /** The rows of every statement executed, in order. */
  let statements: string[][];
  /** Makes a statement fail when it holds this job. */
  let poison: string | undefined;
  let batcher: WriteBatcher;

  beforeEach(async () => {
    db = sqliteDb();
    const store = new KyselyStore({ db });
    await store.migrate();
    await store.createRun(
      { runId: 'r', businessId: 'b', concurrency: 5, total: 5, createdAt: 1 },
      [1, 2, 3, 4, 5].map((seq) => ({ jobId: `j${seq}`, seq, to: '+14155550101', metadata: {} })),
    );
    statements = [];
    poison = undefined;
    const execute = async <R>(query: CompiledQuery<R>): Promise<QueryResult<R>> => {
      const ids = rowIds(query);
      statements.push(ids);
      if (poison !== undefined && ids.includes(poison)) throw new Error(`poisoned by ${poison}`);
      return db.executeQuery(query);
    };
    batcher = new WriteBatcher(new BatchStatements(tableNames('oq_'), false), execute);
  });

  afterEach(async () => {
    await db.destroy();
  });

  it('writes what one turn of work asks for in one statement, once that work settles; answers each caller', async () => {
    const claims = await Promise.all(
      ['j1', 'j2', 'j3', 'nope'].map((jobId) => batcher.claim({ jobId, lockToken: `t-${jobId}`, now: 2 })),
    );
    expect(statements).toEqual([['j1', 'j2', 'j3', 'nope']]);
    expect(claims.map((row) => row?.id)).toEqual(['j1', 'j2', 'j3', undefined]);
    expect(claims[0]).toMatchObject({ id: 'j1', run_id: 'r', business_id: 'b', attempt: 1 });
  });

  it('writes two changes of one job in the order they were made, in two batches', async () => {
    await batcher.claim({ jobId: 'j1', lockToken: 'x', now: 2 });
    statements = [];
    const [ringing, dialed, completed, late] = await Promise.all([
      batcher.transition({ change: { jobId: 'j1', lockToken: 'x', status: 'ringing' }, now: 3 }),
      batcher.dialed({ jobId: 'j1', lockToken: 'x', callId: 'CA1', now: 3 }),
      batcher.transition({
        change: { jobId: 'j1', lockToken: 'x', status: 'completed', durationSec: 4 },
        now: 4,
      }),
      batcher.transition({ change: { jobId: 'j1', lockToken: 'x', status: 'in_progress' }, now: 5 }),
    ]);
    expect(statements).toEqual([['j1'], ['j1'], ['j1'], ['j1']]);
    expect([ringing?.status, dialed?.id, completed?.status, late]).toEqual([
      'ringing',
      'j1',
      'completed',
      undefined,
    ]);
    const row = await db.selectFrom('oq_jobs').selectAll().where('id', '=', 'j1').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'completed', call_id: 'CA1', duration_sec: 4, ended_at: 4 });
  });

  it('writes again at once on a later turn', async () => {
    await batcher.claim({ jobId: 'j1', lockToken: 'a', now: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    await batcher.claim({ jobId: 'j2', lockToken: 'b', now: 2 });
    expect(statements).toEqual([['j1'], ['j2']]);
  });

  it('fails only the write whose row fails the statement; its neighbours are written', async () => {
    poison = 'j2';
    const results = await Promise.allSettled(
      ['j1', 'j2', 'j3'].map((jobId) => batcher.claim({ jobId, lockToken: 't', now: 2 })),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(statements).toEqual([['j1', 'j2', 'j3'], ['j1'], ['j2'], ['j3']]);
    const claimed = await db.selectFrom('oq_jobs').select('id').where('status', '=', 'dialing').execute();
    expect(claimed.map((row) => row.id).sort()).toEqual(['j1', 'j3']);
    // And the batcher goes on.
    poison = undefined;
    expect(await batcher.claim({ jobId: 'j4', lockToken: 't', now: 3 })).toMatchObject({ id: 'j4' });
  });

  describe('a claim after a status change (a slot passed on before its end was written)', () => {
    /** j1 claimed under token `x`, so that its end can be written. */
    async function claimedJ1(): Promise<void> {
      await batcher.claim({ jobId: 'j1', lockToken: 'x', now: 2 });
      statements = [];
    }
    const end = () =>
      batcher.transition({ change: { jobId: 'j1', lockToken: 'x', status: 'completed' }, now: 3 });
    const j1End = { jobId: 'j1', lockToken: 'x' };

    it('joins the batch of that change and is written in one statement with it', async () => {
      await claimedJ1();
      const ending = end();
      const claiming = batcher.claimAfter(j1End, { jobId: 'j2', lockToken: 'y', now: 3 });
      const other = batcher.claim({ jobId: 'j3', lockToken: 'z', now: 3 });
      expect(claiming).toBeDefined();
      const [ended, claimed] = await Promise.all([ending, claiming, other]);
      expect(ended?.status).toBe('completed');
      expect(claimed?.id).toBe('j2');
      // The other claim in its own statement; the end and the claim that follows it in one.
      expect(statements).toEqual([['j3'], ['j1', 'j2']]);
      const rows = await db.selectFrom('oq_jobs').select(['id', 'status', 'lock_token', 'attempt']).execute();
      expect(rows.filter((row) => ['j1', 'j2', 'j3'].includes(row.id))).toEqual([
        { id: 'j1', status: 'completed', lock_token: 'x', attempt: 1 },
        { id: 'j2', status: 'dialing', lock_token: 'y', attempt: 1 },
        { id: 'j3', status: 'dialing', lock_token: 'z', attempt: 1 },
      ]);
    });

    it('is not written when the change fails, and fails with its error', async () => {
      await claimedJ1();
      poison = 'j1';
      const ending = end();
      const claiming = batcher.claimAfter(j1End, { jobId: 'j2', lockToken: 'y', now: 3 });
      const other = batcher.claim({ jobId: 'j3', lockToken: 'z', now: 3 });
      await expect(ending).rejects.toThrow('poisoned by j1');
      await expect(claiming).rejects.toThrow('poisoned by j1');
      expect((await other)?.id).toBe('j3');
      const rows = await db
        .selectFrom('oq_jobs')
        .select(['id', 'status'])
        .where('id', 'in', ['j1', 'j2'])
        .execute();
      expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({
        j1: 'dialing',
        j2: 'queued',
      });
    });

    it('joins only the end of that call: not another change of its job', async () => {
      await claimedJ1();
      const ringing = batcher.transition({
        change: { jobId: 'j1', lockToken: 'x', status: 'ringing' },
        now: 3,
      });
      expect(batcher.claimAfter(j1End, { jobId: 'j2', lockToken: 'y', now: 3 })).toBeUndefined();
      await ringing;
      const stray = batcher.transition({
        change: { jobId: 'j1', lockToken: 'other', status: 'completed' },
        now: 3,
      });
      expect(batcher.claimAfter(j1End, { jobId: 'j2', lockToken: 'y', now: 3 })).toBeUndefined();
      expect(await stray).toBeUndefined();
    });

    it('is refused when no change of that job waits to be written', async () => {
      await claimedJ1();
      expect(batcher.claimAfter(j1End, { jobId: 'j2', lockToken: 'y', now: 3 })).toBeUndefined();
      const ending = end();
      while (statements.length === 0) await new Promise((resolve) => setImmediate(resolve));
      // Written (or being written) already: too late to join it.
      expect(batcher.claimAfter(j1End, { jobId: 'j2', lockToken: 'y', now: 3 })).toBeUndefined();
      await ending;
      expect(statements).toEqual([['j1']]);
    });
  });
});
