import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { JobStatus } from '../../src/types.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

// Group commit must not change what the store does: random writes on a few jobs, issued many at
// a time across turns of the event loop (so batches form, jobs repeat within a turn, rows fail
// or win), must get the same answers and leave the same rows as the same writes made one by one.

const JOBS = ['j0', 'j1', 'j2', 'j3'] as const;
const TOKENS = ['a', 'b'] as const;
const STATUSES: JobStatus[] = ['ringing', 'in_progress', 'completed', 'busy', 'failed', 'queued', 'dialing'];

type Op =
  | { op: 'claim'; job: string; token: string }
  | { op: 'dialed'; job: string; token: string; callId: string }
  | {
      op: 'transition';
      job: string;
      token?: string;
      callId?: string;
      status: JobStatus;
      durationSec?: number;
    };

/** A write, and whether the batched run lets the event loop turn before issuing it. */
type Step = { write: Op; newTurn: boolean };

const job = fc.constantFrom(...JOBS);
const token = fc.constantFrom(...TOKENS);
const callId = fc.constantFrom('CA1', 'CA2');
const write: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('claim' as const), job, token }),
  fc.record({ op: fc.constant('dialed' as const), job, token, callId }),
  fc.record(
    {
      op: fc.constant('transition' as const),
      job,
      token,
      callId,
      status: fc.constantFrom(...STATUSES),
      durationSec: fc.oneof(fc.constant(undefined), fc.double({ min: 0, max: 100, noNaN: true })),
    },
    { requiredKeys: ['op', 'job', 'status'] },
  ),
);
const steps: fc.Arbitrary<Step[]> = fc.array(fc.record({ write, newTurn: fc.boolean() }), {
  minLength: 1,
  maxLength: 40,
});

/** A store on `db` whose run of four queued jobs is written anew before each check. */
// biome-ignore lint/suspicious/noExplicitAny: the store's untyped tables
function resettableStore(db: Kysely<any>) {
  const store = new KyselyStore({ db });
  return {
    store,
    async reset(): Promise<void> {
      await store.migrate();
      await db.deleteFrom('oq_jobs').execute();
      await db.deleteFrom('oq_runs').execute();
      await store.createRun(
        { runId: 'r', businessId: 'b', concurrency: 4, total: JOBS.length, createdAt: 1 },
        JOBS.map((jobId, i) => ({ jobId, seq: i + 1, to: '+14155550101', metadata: { i } })),
      );
    },
    rows: () => db.selectFrom('oq_jobs').selectAll().orderBy('id').execute(),
  };
}

function apply(store: KyselyStore, w: Op, now: number): Promise<unknown> {
  switch (w.op) {
    case 'claim':
      return store.claimJob(w.job, w.token, now);
    case 'dialed':
      return store.recordDialed(w.job, w.token, w.callId, now);
    case 'transition':
      return store.transition(
        { jobId: w.job, lockToken: w.token, callId: w.callId, status: w.status, durationSec: w.durationSec },
        now,
      );
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** The property on two stores of one database kind: one written one write at a time, one batched. */
// biome-ignore lint/suspicious/noExplicitAny: the store's untyped tables
function batchedEqualsAlone(name: string, dbs: () => [Kysely<any>, Kysely<any>], numRuns: number) {
  it(`${name}: answers and writes exactly as the same writes made one at a time`, async () => {
    const [a, b] = dbs();
    const alone = resettableStore(a);
    const together = resettableStore(b);
    await fc.assert(
      fc.asyncProperty(steps, async (plan) => {
        await alone.reset();
        await together.reset();
        const expected: unknown[] = [];
        for (const [i, step] of plan.entries()) expected.push(await apply(alone.store, step.write, i + 2));
        const answers: Promise<unknown>[] = [];
        for (const [i, step] of plan.entries()) {
          if (step.newTurn) await nextTurn();
          answers.push(apply(together.store, step.write, i + 2));
        }
        expect(await Promise.all(answers)).toEqual(expected);
        expect(await together.rows()).toEqual(await alone.rows());
      }),
      { numRuns },
    );
  });
}

describe('WriteBatcher (property) on SQLite', () => {
  const sqlite: [Kysely<unknown>, Kysely<unknown>] = [sqliteDb(), sqliteDb()];
  afterAll(async () => {
    for (const db of sqlite) await db.destroy();
  });
  batchedEqualsAlone('SQLite', () => sqlite, 150);
});

describe.skipIf(!requireServer('postgres'))('WriteBatcher (property) on a real PostgreSQL', () => {
  let server: PostgresServerHandle;
  // biome-ignore lint/suspicious/noExplicitAny: the store's untyped tables
  let dbs: [Kysely<any>, Kysely<any>];
  beforeAll(async () => {
    server = await startPostgresServer();
    dbs = [
      postgresDb(await server.createDatabase('alone')),
      postgresDb(await server.createDatabase('together')),
    ];
  });
  afterAll(async () => {
    for (const db of dbs ?? []) await db.destroy();
    await server?.stop();
  });
  batchedEqualsAlone('PostgreSQL', () => dbs, 60);
});
