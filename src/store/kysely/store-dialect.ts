import { type Kysely, MysqlAdapter, PostgresAdapter, SqliteAdapter } from 'kysely';
import { ValidationError } from '../../errors.js';

/** The SQL dialects `KyselyStore` writes. */
export type StoreDialect = 'sqlite' | 'postgres';

/**
 * The dialect of the host's Kysely instance, from its adapter (a subclass counts: libSQL, D1,
 * PGlite; one of another copy of kysely is known by its class's name). An adapter the store does not know is refused at once: written the SQLite way, its
 * statements would fail later, or do the wrong thing.
 * @throws {@link ValidationError} for any other adapter (MySQL, MSSQL, a custom one)
 */
// biome-ignore lint/suspicious/noExplicitAny: the store's tables are not part of a host schema type
export function storeDialect(db: Kysely<any>): StoreDialect {
  const { adapter } = db.getExecutor();
  if (adapter instanceof SqliteAdapter || extendsClassNamed(adapter, 'SqliteAdapter')) return 'sqlite';
  if (adapter instanceof PostgresAdapter || extendsClassNamed(adapter, 'PostgresAdapter')) return 'postgres';
  const name = adapter.constructor?.name || 'an unknown adapter';
  const mysql = adapter instanceof MysqlAdapter || extendsClassNamed(adapter, 'MysqlAdapter');
  const hint = mysql ? ' MySQL and MariaDB are not supported yet.' : '';
  throw new ValidationError([
    {
      field: 'db',
      message: `uses ${name}: KyselyStore supports SQLite and PostgreSQL dialects only.${hint}`,
    },
  ]);
}

/**
 * Whether `value`'s class is, or extends, a class named `name`: an adapter of another copy of
 * kysely (its CJS build next to the ESM one, or a second version) fails `instanceof`.
 */
function extendsClassNamed(value: object, name: string): boolean {
  for (let proto = Object.getPrototypeOf(value); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === name) return true;
  }
  return false;
}
