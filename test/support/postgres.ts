import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

/**
 * A Kysely instance on a PostgreSQL connection string, with a pool of `max` connections.
 * @returns the database; destroy it when done
 */
// biome-ignore lint/suspicious/noExplicitAny: tests use the store's untyped tables
export function postgresDb(connectionString: string, max = 10): Kysely<any> {
  const pool = new pg.Pool({ connectionString, max });
  // Idle clients see the throwaway server shut down at the end of a suite (or on purpose, in
  // outage tests); that is expected there, and the pool replaces them.
  pool.on('error', () => {});
  // A client lent out (between statements) has no pool listener: without its own, a dropped
  // connection is an uncaught 'error' event that kills the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely({ dialect: new PostgresDialect({ pool }) });
}
