import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { cacheStatements } from '../../src/kysely.js';
import { countingDialect, type SqlCounter } from '../measure/sql-counter.js';
import { checkpointInBackground } from './sqlite-checkpointer.js';

/** A Kysely database for one measured run, and how to dispose of it. */
export interface BenchDb {
  // biome-ignore lint/suspicious/noExplicitAny: the store's tables are not in a host schema type
  db: Kysely<any>;
  /** Destroys the Kysely instance and removes any file it created. */
  dispose(): Promise<void>;
}

/**
 * SQLite in a temporary file, as a host would run it (WAL, `synchronous = NORMAL`, the same
 * pragmas as the test helper, prepared statements cached with `cacheStatements`, WAL checkpoints
 * in a worker thread), with every statement counted.
 * @param counter - where statements are counted
 * @returns the database
 */
export function sqliteFileDb(counter: SqlCounter): BenchDb {
  const dir = mkdtempSync(join(tmpdir(), 'oq-bench-sqlite-'));
  // As docs/operations.md tells hosts to: better-sqlite3 keeps its prepared statements.
  const database = cacheStatements(new Database(join(dir, 'bench.db')));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  const checkpointer = checkpointInBackground(database);
  const db = new Kysely({ dialect: countingDialect(new SqliteDialect({ database }), counter) });
  return {
    db,
    async dispose() {
      await checkpointer.stop();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * PostgreSQL through a `pg` pool of `max` connections, with every statement counted.
 * @param connectionString - a database of the throwaway server
 * @param counter - where statements are counted
 * @returns the database
 */
export function postgresDb(connectionString: string, counter: SqlCounter, max = 10): BenchDb {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely({ dialect: countingDialect(new PostgresDialect({ pool }), counter) });
  return { db, dispose: () => db.destroy() };
}
