import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { sqliteDb } from '../support/sqlite.js';
import { jobStoreContract } from './job-store.contract.js';

// SQLite serialises writers; two connections in one thread would wait on each other's lock, so
// the "other process" shares the connection (true concurrency is tested on PostgreSQL).
const dir = mkdtempSync(join(tmpdir(), 'oq-sqlite-'));
// biome-ignore lint/suspicious/noExplicitAny: tables of the store under test
let dbs: Kysely<any>[] = [];
let store: KyselyStore;
let other: KyselyStore;

beforeAll(async () => {
  dbs = [sqliteDb(join(dir, 'store.db'))];
  store = new KyselyStore({ db: dbs[0]! });
  other = new KyselyStore({ db: dbs[0]! });
  await store.migrate();
});

afterAll(async () => {
  for (const db of dbs) await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

jobStoreContract('SQLite', () => ({
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

it('keeps the indexes its queries use (a capped claim counts a number by business: 0008), and no index on the call id (0004)', async () => {
  const indexes = await dbs[0]!
    .selectFrom('sqlite_master')
    .select('name')
    .where('type', '=', 'index')
    .where('tbl_name', '=', 'oq_jobs')
    .where('sql', 'is not', null)
    .execute();
  expect(indexes.map((row) => row.name).sort()).toEqual([
    'oq_jobs_business_number',
    'oq_jobs_business_status',
    'oq_jobs_run_status_seq',
    'oq_jobs_status_updated',
  ]);
});
