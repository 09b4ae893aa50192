import type { CompiledQuery, DatabaseConnection, Dialect, QueryResult } from 'kysely';

/** Longest statement prefix kept as a label in the per-statement breakdown. */
const LABEL_LENGTH = 64;

/**
 * Counts the SQL statements a Kysely instance sends to its database, by kind. Every statement
 * counts, transaction control (`begin`, `commit`) included, because it is counted where the
 * driver's connection executes it.
 */
export class SqlCounter {
  /** Statements executed. */
  total = 0;
  /** Statements per label (the statement's first characters, whitespace collapsed). */
  readonly byStatement = new Map<string, number>();
  /**
   * Time spent inside the driver's `executeQuery` before it returned its promise, in ms. For
   * better-sqlite3 that is the whole statement (it runs synchronously); for pg only the send.
   */
  syncMs = 0;
  private readonly labels = new Map<string, string>();

  /**
   * Records one statement.
   * @param sql - the compiled SQL text
   * @param syncMs - time the driver spent before returning its promise
   */
  count(sql: string, syncMs = 0): void {
    this.total += 1;
    this.syncMs += syncMs;
    let label = this.labels.get(sql);
    if (label === undefined) {
      label = sql.replace(/\s+/g, ' ').trim().slice(0, LABEL_LENGTH);
      this.labels.set(sql, label);
    }
    this.byStatement.set(label, (this.byStatement.get(label) ?? 0) + 1);
  }

  /**
   * A copy of the per-statement counts, to diff two moments of a run.
   * @returns label and count pairs
   */
  snapshot(): Map<string, number> {
    return new Map(this.byStatement);
  }
}

/**
 * Wraps a Kysely dialect so that every statement its connections execute is counted.
 * @param dialect - the real dialect (SQLite, PostgreSQL)
 * @param counter - where the statements are counted
 * @returns a dialect to give to `new Kysely({ dialect })`
 */
export function countingDialect(dialect: Dialect, counter: SqlCounter): Dialect {
  const instrumented = new WeakSet<DatabaseConnection>();
  const instrument = (connection: DatabaseConnection): DatabaseConnection => {
    if (instrumented.has(connection)) return connection;
    instrumented.add(connection);
    const execute = connection.executeQuery.bind(connection);
    // Patched on the connection object itself: the driver gets the same object back on release.
    connection.executeQuery = <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
      const started = performance.now();
      const result = execute<R>(query);
      counter.count(query.sql, performance.now() - started);
      return result;
    };
    return connection;
  };
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => {
      const driver = dialect.createDriver();
      const acquire = driver.acquireConnection.bind(driver);
      driver.acquireConnection = async () => instrument(await acquire());
      return driver;
    },
  };
}

/**
 * The statements counted between two snapshots, per label, largest first.
 * @returns label and count pairs
 */
export function statementDelta(
  before: Map<string, number>,
  after: Map<string, number>,
): Array<[string, number]> {
  const delta: Array<[string, number]> = [];
  for (const [label, n] of after) {
    const d = n - (before.get(label) ?? 0);
    if (d > 0) delta.push([label, d]);
  }
  return delta.sort((a, b) => b[1] - a[1]);
}
