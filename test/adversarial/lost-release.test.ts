/**
 * The process that receives a call's terminal event is often not the one that dialed it. When that
 * receiver writes the terminal status and then fails to free the slot (its Redis connection drops,
 * or it crashes between the two writes), the slot must still be freed: the database says the job
 * is over. Two queues over one store and one limiter stand for two processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { SlotLimiter } from '../../src/limiter/slot-limiter.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { eventually, leads } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { sqliteDb } from '../support/sqlite.js';

const LEASE_MS = 300;

/** The shared limiter as a process whose connection to it is down sees it: `release` fails. */
function unreachableRelease(limiter: SlotLimiter, down: { release: boolean }): SlotLimiter {
  return new Proxy(limiter, {
    get(target, prop, receiver) {
      if (prop === 'release' && down.release) {
        return async () => {
          throw new Error('connect ECONNREFUSED (limiter unreachable)');
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a slot whose release failed in another process', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('is freed once the database says its job ended, so the next lead is dialed (no stall)', async () => {
    const db = sqliteDb();
    const limiter = new MemorySlotLimiter();
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    // Process A dispatches and dials; process B only serves the status webhook.
    const a = new OutboundQueue({ store: new KyselyStore({ db }), limiter, dialer, leaseMs: LEASE_MS });
    const down = { release: true };
    const b = new OutboundQueue({
      store: new KyselyStore({ db }),
      limiter: unreachableRelease(limiter, down),
      dialer,
      leaseMs: LEASE_MS,
    });
    closers.push(async () => {
      await a.close();
      await b.close();
      await db.destroy();
    });
    await a.migrate();
    await a.start();
    const run = await a.startRun({ businessId: 'lost', concurrency: 1, leads: leads(2) });
    await eventually(() => dialer.calls.length === 1);
    await eventually(
      async () => (await a.listJobs(run.runId, { status: 'dialing' }))[0]?.callId !== undefined,
    );

    // The first call ends; its webhook reaches B, which records the end but cannot free the slot.
    const first = dialer.hangUp(dialer.calls[0]!.callId)!;
    const event = {
      jobId: first.jobId,
      lockToken: first.lockToken,
      callId: first.callId,
      status: 'completed' as const,
    };
    await expect(b.handleCallEvent(event)).rejects.toThrow('limiter unreachable');
    // The provider retries the webhook once B's connection is back: the job is already over.
    down.release = false;
    expect((await b.handleCallEvent(event)).applied).toBe(false);

    // The slot belongs to a finished job; many leases later the second lead must have been dialed.
    await eventually(() => dialer.calls.length === 2, 20 * LEASE_MS);
    await dialer.end(dialer.calls[1]!.callId);
    const done = await a.waitForRun(run.runId, { timeoutMs: 10 * LEASE_MS });
    expect(done.counts.completed).toBe(2);
  });
});
