/**
 * Redis unreachable for 10 s (five leases) through a TCP proxy while calls end: the slots' leases
 * run out in Redis during the cut (no renewal reaches it) and the ends of calls cannot be
 * released there, so the limiter's state is stale when Redis is back. The slots of the calls
 * live through the cut must not be granted again; every end is released once Redis answers.
 * Real PostgreSQL and Redis; the guarantees are measured on the calls the dialer saw.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';
import { expectCutGuarantees, runThroughCut } from './cut-run.js';

const available = requireServer('redis') && requireServer('postgres');

describe.skipIf(!available)('Redis cut for 10 s while calls end', () => {
  let redis: RedisServerHandle;
  let pg: PostgresServerHandle;
  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedisServer(), startPostgresServer()]);
  });
  afterAll(async () => {
    await redis?.stop();
    await pg?.stop();
  });

  it('hands no stale slot out twice: all jobs terminal, dialed once, never over the limit', async () => {
    expectCutGuarantees(await runThroughCut('redis', { pg, redis }, 'redis_cut'));
  }, 45_000);
});
