/**
 * The shared backends of every process in this example: one PostgreSQL (DATABASE_URL) and one
 * Redis (REDIS_URL). Every process must use the same database, table prefix and Redis prefix.
 */
import { Redis } from 'ioredis';
import { Kysely, PostgresDialect } from 'kysely';
import type { Logger, SlotLimiter } from 'outbound-queue';
import { KyselyStore } from 'outbound-queue/kysely';
import { RedisSlotLimiter } from 'outbound-queue/redis';
import pg from 'pg';

export interface Backends {
  store: KyselyStore;
  limiter: SlotLimiter;
  leaseMs: number;
  close(): Promise<void>;
}

/** Settings from the environment, with the defaults the README describes. */
export const settings = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  redisPrefix: process.env.REDIS_PREFIX ?? 'oq-example',
  // Short leases so that recovery is quick to watch: runs are adopted and a killed worker's
  // slots are reclaimed within about LEASE_MS. Production default: 30,000.
  leaseMs: Number(process.env.LEASE_MS ?? 6000),
};

/** A logger that prints `OUTBOUND_* key=value ...`, prefixed with the process's name. */
export function lineLogger(name: string): Logger {
  const print = (fields: Record<string, unknown>, msg: string) => {
    const parts = Object.entries(fields)
      .filter(([key, value]) => value !== undefined && key !== 'limit')
      .map(([key, value]) =>
        key === 'active'
          ? `active=${value}/${fields.limit}`
          : `${key}=${value instanceof Error ? value.message : String(value)}`,
      );
    console.log([`[${name}]`, msg, ...parts].join(' '));
  };
  return { debug: () => {}, info: print, warn: print, error: print };
}

/**
 * Opens the database pool and the Redis connection. The limiter opens one more Redis connection,
 * for pub/sub, when the queue calls start(); queue.close() closes it.
 */
export function openBackends(name: string): Backends {
  const db = new Kysely({
    dialect: new PostgresDialect({
      pool: resilientPool(new pg.Pool({ connectionString: settings.databaseUrl, max: 5 })),
    }),
  });
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', (err) => console.error(`[${name}] redis: ${err.message}`));
  return {
    store: new KyselyStore({ db }),
    limiter: new RedisSlotLimiter({ redis, prefix: settings.redisPrefix, logger: lineLogger(name) }),
    leaseMs: settings.leaseMs,
    async close() {
      redis.disconnect();
      await db.destroy();
    },
  };
}

/** A dropped connection must not become an uncaught 'error' event: the queue retries. */
function resilientPool(pool: import('pg').Pool): import('pg').Pool {
  pool.on('error', (err) => console.warn(`postgres: ${err.message}`));
  pool.on('connect', (client) => client.on('error', (err) => console.warn(`postgres: ${err.message}`)));
  return pool;
}
