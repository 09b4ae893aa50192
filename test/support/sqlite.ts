import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';

/**
 * A Kysely instance on a fresh in-memory SQLite database (or a file, when `path` is given).
 * @returns the database; destroy it when done
 */
// biome-ignore lint/suspicious/noExplicitAny: tests use the store's untyped tables
export function sqliteDb(path = ':memory:'): Kysely<any> {
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  return new Kysely({ dialect: new SqliteDialect({ database }) });
}
