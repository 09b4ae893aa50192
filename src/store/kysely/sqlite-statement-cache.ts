/** A SQLite handle that prepares statements (better-sqlite3's `Database`). */
export interface PreparingDatabase {
  /** Compiles `source` into a statement object that can be run many times. */
  prepare(source: string): unknown;
}

/**
 * Makes a better-sqlite3 `Database` reuse its prepared statements. Kysely's SQLite driver
 * prepares every statement it runs, which costs more than running it for the queue's short
 * statements; with the cache a call costs about a fifth less CPU. Safe with Kysely, which runs one
 * statement at a time per connection; do not use it where one statement object is iterated by
 * two readers at once.
 * @param database - the host's better-sqlite3 database, before it is handed to `SqliteDialect`
 * @param maxStatements - statements kept (default 500; the cache starts over when full)
 * @returns the same database, its `prepare` cached by SQL text
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { Kysely, SqliteDialect } from 'kysely';
 * import { cacheStatements, KyselyStore } from 'outbound-queue/kysely';
 *
 * const database = cacheStatements(new Database('calls.db'));
 * const store = new KyselyStore({ db: new Kysely({ dialect: new SqliteDialect({ database }) }) });
 * ```
 */
export function cacheStatements<D extends PreparingDatabase>(database: D, maxStatements = 500): D {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, unknown>();
  database.prepare = (source: string) => {
    let statement = cache.get(source);
    if (statement === undefined) {
      if (cache.size >= maxStatements) cache.clear();
      statement = prepare(source);
      cache.set(source, statement);
    }
    return statement;
  };
  return database;
}
