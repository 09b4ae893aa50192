import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { cacheStatements } from 'outbound-queue/kysely';

/**
 * Opens the demo's database: a PostgreSQL URL, or else a SQLite file path.
 * @param target - `postgres://...` or a file path
 */
// biome-ignore lint/suspicious/noExplicitAny: the demo does not type the store's tables
export async function openDatabase(target: string): Promise<Kysely<any>> {
  if (/^postgres(ql)?:\/\//.test(target)) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: target });
    // A dropped connection must not become an uncaught 'error' event: the queue retries.
    pool.on('error', (err) => console.warn(`postgres: ${err.message}`));
    pool.on('connect', (client) => client.on('error', (err) => console.warn(`postgres: ${err.message}`)));
    return new Kysely({ dialect: new PostgresDialect({ pool }) });
  }
  const { default: Database } = await import('better-sqlite3');
  // Reuse prepared statements: Kysely's SQLite driver would prepare each one again.
  const database = cacheStatements(new Database(target));
  database.pragma('journal_mode = WAL');
  return new Kysely({ dialect: new SqliteDialect({ database }) });
}
