import { afterEach, describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { CallEvent } from '../../src/types.js';
import { HeldEndsStore } from '../support/held-ends-store.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { sqliteDb } from '../support/sqlite.js';

const LEASE_MS = 600;

/** A provider that says every call is still live: an end only its own dialer knew of stays unknown. */
class LiveCallsDialer extends RecordingDialer {
  override async fetchCall(callId: string): Promise<CallEvent | undefined> {
    return { jobId: '', callId, status: 'in-progress' };
  }
}

describe('a slot passed on before the end of its call was written', () => {
  const fixtures: QueueFixture[] = [];
  afterEach(async () => {
    for (const fx of fixtures.splice(0).reverse()) await fx.close();
  });

  it('is not dialed by a reconciler while the database still counts that call live', async () => {
    const db = sqliteDb();
    const shared = new MemorySlotLimiter();
    // Process A passes its call's slot on, then can neither write the end nor renew the slot.
    let renewing = true;
    const limiterA = Object.create(shared) as MemorySlotLimiter;
    limiterA.renew = (key, jobIds, leaseMs) =>
      renewing ? shared.renew(key, jobIds, leaseMs) : Promise.reject(new Error('Redis unreachable from A'));
    const storeA = new HeldEndsStore({ db });
    const dialerA = new RecordingDialer({ durationMs: 'manual' });
    const a = await startQueue(dialerA, { db, store: storeA, limiter: limiterA, leaseMs: LEASE_MS });
    const dialerB = new LiveCallsDialer({ durationMs: 'manual' });
    const b = await startQueue(dialerB, { db, limiter: shared, leaseMs: LEASE_MS });
    fixtures.push(a, b);
    // However the test ends, A's end is let through first, so that A can close.
    fixtures.push({ close: async () => storeA.release() } as QueueFixture);

    const runA = await a.queue.startRun({ businessId: 'p', concurrency: 1, leads: leads(2) });
    await eventually(() => dialerA.calls.length === 1);
    // B owns a run of the business too, so its reconciler resolves the business's expired slots.
    await b.queue.startRun({ businessId: 'p', concurrency: 1, leads: leads(1, 10) });
    const first = dialerA.calls[0]!;
    renewing = false;
    void dialerA.end(first.callId);
    await eventually(() => storeA.held === 1);

    // The promoted job's slot runs out, and B reclaims it (after the ended call): the database
    // still counts that call live, so B neither dials nor claims the promoted job.
    let most = 0;
    const deadline = Date.now() + 4 * LEASE_MS;
    while (Date.now() < deadline) {
      most = Math.max(most, (await a.queue.getRun(runA.runId)).active);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const expired = b.logger.named('OUTBOUND_SLOT_EXPIRED').map((l) => l.obj.status);
    expect(expired).toContain('queued');
    expect(most).toBe(1);
    expect(dialerB.calls).toHaveLength(0);

    // Once the end is written, the promoted job is dialed, once.
    renewing = true;
    storeA.release();
    await eventually(() => dialerA.calls.length + dialerB.calls.length === 2, 10_000);
    expect([...dialerA.dialsPerJob().keys(), ...dialerB.dialsPerJob().keys()]).toHaveLength(2);
  });
});
