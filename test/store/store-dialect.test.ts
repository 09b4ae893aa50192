import { createRequire } from 'node:module';
import {
  DummyDriver,
  Kysely,
  MssqlAdapter,
  MysqlAdapter,
  MysqlDialect,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { sqliteDb } from '../support/sqlite.js';

/** A Kysely on `adapter` that never connects (the store only reads its adapter when built). */
function dbWith(adapter: PostgresAdapter | MysqlAdapter | MssqlAdapter) {
  const compiler = adapter instanceof PostgresAdapter ? PostgresQueryCompiler : MysqlQueryCompiler;
  const introspector = adapter instanceof PostgresAdapter ? PostgresIntrospector : MysqlIntrospector;
  return new Kysely({
    dialect: {
      createAdapter: () => adapter,
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new introspector(db),
      createQueryCompiler: () => new compiler(),
    },
  });
}

function refusal(make: () => unknown): ValidationError {
  try {
    make();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('KyselyStore dialects', () => {
  it('takes SQLite and PostgreSQL, and a subclass of their adapters', () => {
    expect(() => new KyselyStore({ db: sqliteDb() })).not.toThrow();
    expect(() => new KyselyStore({ db: dbWith(new PostgresAdapter()) })).not.toThrow();
    class PgliteLikeAdapter extends PostgresAdapter {}
    // kysely's CJS build next to its ESM one: other classes of the same names.
    const cjs = createRequire(import.meta.url)('kysely') as typeof import('kysely');
    expect(cjs.SqliteAdapter).not.toBe(SqliteAdapter);
    expect(() => new KyselyStore({ db: dbWith(new cjs.PostgresAdapter() as PostgresAdapter) })).not.toThrow();
    expect(() => new KyselyStore({ db: dbWith(new cjs.SqliteAdapter() as never) })).not.toThrow();
    expect(() => new KyselyStore({ db: dbWith(new PgliteLikeAdapter()) })).not.toThrow();
  });

  it('refuses MySQL, MSSQL and unknown adapters at once, naming the adapter', () => {
    const mysql = refusal(
      () =>
        new KyselyStore({
          db: new Kysely({ dialect: new MysqlDialect({ pool: async () => ({}) as never }) }),
        }),
    );
    expect(mysql.issues[0]).toMatchObject({ field: 'db' });
    expect(mysql.issues[0]?.message).toContain('MysqlAdapter');
    expect(mysql.issues[0]?.message).toContain('MySQL and MariaDB are not supported yet');
    const mssql = refusal(() => new KyselyStore({ db: dbWith(new MssqlAdapter()) }));
    expect(mssql.issues[0]?.message).toContain('MssqlAdapter');
    class HomeMadeAdapter extends MysqlAdapter {}
    expect(
      refusal(() => new KyselyStore({ db: dbWith(new HomeMadeAdapter()) })).issues[0]?.message,
    ).toContain('HomeMadeAdapter');
  });
});
