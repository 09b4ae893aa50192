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

  it('writes at once when idle, then the rest of the turn in one statement; answers each caller', async () => {
    const claims = await Promise.all(
      ['j1', 'j2', 'j3', 'nope'].map((jobId) => batcher.claim({ jobId, lockToken: `t-${jobId}`, now: 2 })),
    );
    expect(statements).toEqual([['j1'], ['j2', 'j3', 'nope']]);
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
    expect(statements).toEqual([['j1'], ['j2', 'j3'], ['j2'], ['j3']]);
    const claimed = await db.selectFrom('oq_jobs').select('id').where('status', '=', 'dialing').execute();
    expect(claimed.map((row) => row.id).sort()).toEqual(['j1', 'j3']);
    // And the batcher goes on.
    poison = undefined;
    expect(await batcher.claim({ jobId: 'j4', lockToken: 't', now: 3 })).toMatchObject({ id: 'j4' });
  });
});
