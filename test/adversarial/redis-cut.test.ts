/**
 * Redis unreachable for 10 s (five leases) through a TCP proxy while calls end: the slots' leases
 * run out in Redis during the cut (no renewal reaches it) and the ends of calls cannot be
 * released there, so the limiter's state is stale when Redis is back. The slots of the calls
 * live through the cut must not be granted again; every end is released once Redis answers.
 * Real PostgreSQL and Redis; the guarantees are measured on the calls the dialer saw.
 */
import { describe, it } from 'vitest';
import { useRealServers } from '../support/real-servers.js';
import { requireServer } from '../support/servers.js';
import { expectCutGuarantees, runThroughCut } from './cut-run.js';

const available = requireServer('redis') && requireServer('postgres');

describe.skipIf(!available)('Redis cut for 10 s while calls end', () => {
  const servers = useRealServers();

  it('hands no stale slot out twice: all jobs terminal, dialed once, never over the limit', async () => {
    expectCutGuarantees(
      await runThroughCut('redis', { pg: servers.postgres, redis: servers.redis }, 'redis_cut'),
    );
  }, 45_000);
});
