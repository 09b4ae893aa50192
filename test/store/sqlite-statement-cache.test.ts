import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { cacheStatements } from '../../src/store/kysely/sqlite-statement-cache.js';

describe('cacheStatements', () => {
  it('prepares each SQL text once and keeps the store working', async () => {
    const database = new Database(':memory:');
    const prepare = database.prepare.bind(database);
    const prepared: string[] = [];
    database.prepare = ((source: string) => {
      prepared.push(source);
      return prepare(source);
    }) as typeof database.prepare;
    const db = new Kysely({ dialect: new SqliteDialect({ database: cacheStatements(database) }) });
    const store = new KyselyStore({ db });
    await store.migrate();
    const jobs = Array.from({ length: 3 }, (_, i) => ({
      jobId: `j${i}`,
      seq: i + 1,
      to: '+14155550101',
      metadata: {},
    }));
    await store.createRun({ runId: 'r', businessId: 'b', concurrency: 1, total: 3, createdAt: 1 }, jobs);
    for (const job of jobs) expect(await store.claimJob(job.jobId, `t-${job.jobId}`, 2)).toBeDefined();
    const claims = prepared.filter((sql) => sql.startsWith('update "oq_jobs" set "status"'));
    expect(claims).toHaveLength(1);
    expect((await store.countJobs('r')).dialing).toBe(3);
    await db.destroy();
  });

  it('starts over when full', () => {
    let made = 0;
    const database = cacheStatements({ prepare: (source: string) => ({ source, n: ++made }) }, 2);
    database.prepare('a');
    database.prepare('b');
    database.prepare('a');
    expect(made).toBe(2);
    database.prepare('c');
    database.prepare('a');
    expect(made).toBe(4);
  });
});
