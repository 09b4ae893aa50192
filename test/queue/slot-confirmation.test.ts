import { afterEach, describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { aroundClaims } from '../support/claim-hooks.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { sqliteDb } from '../support/sqlite.js';

const LEASE_MS = 400;

/**
 * A grant older than half a lease may have expired and gone to another job before its claim (a
 * stalled process). The slot is then confirmed before the call; a job that lost it is put back.
 */
describe('a grant that outlived half its lease', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('is confirmed before dialing: a lost slot puts the job back, never over the limit', async () => {
    const db = sqliteDb();
    const limiter = new MemorySlotLimiter();
    let stalled: string | undefined;
    const store = aroundClaims(new KyselyStore({ db }), async (jobId, claim) => {
      if (stalled === undefined) {
        stalled = jobId;
        // The process stalls between grant and claim; meanwhile the slot expires and is handed
        // on (as the reconciler of a live process would after reclaiming it).
        await limiter.release('stall', jobId);
        await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 0.6));
      }
      return claim();
    });
    const dialer = new RecordingDialer({ durationMs: 1500 });
    fx = await startQueue(dialer, { db, store, limiter, leaseMs: LEASE_MS });
    const run = await fx.queue.startRun({ businessId: 'stall', concurrency: 1, leads: leads(2) });
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 15_000 });

    expect(done.counts.completed).toBe(2);
    expect(fx.logger.named('OUTBOUND_SLOT_LOST').map((l) => l.obj.job_id)).toEqual([stalled]);
    expect(dialer.maxConcurrent('stall')).toBe(1);
    expect([...dialer.dialsPerJob().values()]).toEqual([1, 1]);
  });
});
