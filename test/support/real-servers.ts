import { afterAll, beforeAll } from 'vitest';
import { type PostgresServerHandle, startPostgresServer } from './postgres-server.js';
import { type RedisServerHandle, startRedisServer } from './redis-server.js';

/** The throwaway servers of a suite, set once its `beforeAll` has run. */
export interface RealServers {
  redis: RedisServerHandle;
  postgres: PostgresServerHandle;
}

/**
 * Starts a throwaway Redis and PostgreSQL before the enclosing suite's tests and stops them after.
 * Call it inside a `describe` that is skipped when a binary is missing (see `requireServer`).
 * @returns the servers, readable from the suite's tests
 */
export function useRealServers(): RealServers {
  const servers = {} as RealServers;
  beforeAll(async () => {
    [servers.redis, servers.postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
  });
  afterAll(async () => {
    await servers.redis?.stop();
    await servers.postgres?.stop();
  });
  return servers;
}
