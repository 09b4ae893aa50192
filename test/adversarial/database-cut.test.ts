/**
 * The database unreachable for 10 s (five leases) through a TCP proxy while calls end: the
 * in-process dialer's end reports exist only in this process and must be kept until written;
 * the slots of calls live through the cut must not be handed on meanwhile. Real PostgreSQL and
 * Redis; the guarantees are measured on the calls the dialer saw.
 */
import { describe, expect, it } from 'vitest';
import { useRealServers } from '../support/real-servers.js';
import { requireServer } from '../support/servers.js';
import { expectCutGuarantees, runThroughCut } from './cut-run.js';

const available = requireServer('redis') && requireServer('postgres');

describe.skipIf(!available)('the database cut for 10 s while calls end', () => {
  const servers = useRealServers();

  it('keeps every end report until written: all jobs terminal, dialed once, never over the limit', async () => {
    const result = await runThroughCut(
      'database',
      { pg: servers.postgres, redis: servers.redis },
      'database_cut',
    );
    expectCutGuarantees(result);
    // The cut was seen and waited out, not mistaken for the end of the calls.
    expect(result.logger.named('OUTBOUND_BACKEND_UNAVAILABLE').length).toBeGreaterThan(0);
  }, 45_000);
});
