import { afterEach, describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { CallEvent } from '../../src/types.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { sqliteDb } from '../support/sqlite.js';

const LEASE_MS = 30_000;

/** A provider whose `fetchCall` does not answer until the test lets it. */
class SlowProviderDialer extends RecordingDialer {
  private answer!: () => void;
  private readonly answered = new Promise<void>((resolve) => {
    this.answer = resolve;
  });
  asked = 0;

  override async fetchCall(callId: string): Promise<CallEvent | undefined> {
    this.asked += 1;
    await this.answered;
    return super.fetchCall(callId);
  }

  release(): void {
    this.answer();
  }
}

/**
 * Issue 11 point 9: lease renewals must not wait behind the reconciler's provider look-ups. A
 * provider that takes minutes to answer `fetchCall` for a silent call must not let this process's
 * other slots expire (another process would then reclaim calls that are live and renewed here).
 */
describe('renewals on a loop of their own', () => {
  const fixtures: QueueFixture[] = [];
  afterEach(async () => {
    for (const fx of fixtures.splice(0)) await fx.close();
  });

  it('keep every slot alive while a fetchCall takes several leases', async () => {
    const clock = new VirtualClock();
    const db = sqliteDb();
    const limiter = new MemorySlotLimiter({ clock });
    const dialer = new SlowProviderDialer({ durationMs: 'manual', clock });
    const options = { db, limiter, clock, leaseMs: LEASE_MS, silentCallMs: 60_000 };
    const a = await startQueue(dialer, options);
    fixtures.push(a);
    await a.queue.startRun({ businessId: 's', concurrency: 2, leads: leads(2) });
    await clock.advance(1_000);
    expect(dialer.calls).toHaveLength(2);
    // Both calls go silent; at 60 s the silent-call check asks the provider, which hangs.
    await clock.advance(70_000);
    expect(dialer.asked).toBeGreaterThan(0);
    await clock.advance(4 * LEASE_MS);
    // No slot ran out while the reconciler waited on the provider: renewals went on.
    expect(await limiter.reclaim('s', LEASE_MS)).toEqual([]);
    expect(a.logger.named('OUTBOUND_SLOT_EXPIRED')).toEqual([]);
    dialer.release();
    for (const call of dialer.liveCalls()) await dialer.end(call.callId);
    await clock.advance(1_000);
  });
});
