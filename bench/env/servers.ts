import { type PostgresServerHandle, startPostgresServer } from '../../test/support/postgres-server.js';
import { type RedisServerHandle, startRedisServer } from '../../test/support/redis-server.js';

/** The throwaway servers a bench run works against. */
export interface BenchServers {
  redis: RedisServerHandle;
  postgres: PostgresServerHandle;
  /** A fresh, empty PostgreSQL database for one measured run. */
  newPostgresDatabase(): Promise<string>;
  /** Stops both servers. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` and PostgreSQL (the test suites' helpers: free loopback ports,
 * temp dirs, killed when this process exits however it exits).
 * @returns the running servers
 */
export async function startBenchServers(): Promise<BenchServers> {
  const [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
  let next = 0;
  return {
    redis,
    postgres,
    newPostgresDatabase: () => postgres.createDatabase(`bench_${process.pid}_${++next}`),
    async stop() {
      await Promise.all([redis.stop(), postgres.stop()]);
    },
  };
}
