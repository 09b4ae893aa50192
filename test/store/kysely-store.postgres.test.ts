import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe } from 'vitest';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { requireServer } from '../support/servers.js';
import { jobStoreContract } from './job-store.contract.js';

const available = requireServer('postgres');

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

  jobStoreContract('PostgreSQL', () => ({
    store,
    other,
    reset: async () => {
      await dbs[0]!.deleteFrom('oq_jobs').execute();
      await dbs[0]!.deleteFrom('oq_runs').execute();
    },
  }));
});
