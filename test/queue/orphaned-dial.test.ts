import { describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../src/clock.js';
import type {
  DialContext,
  Dialer,
  DialRequest,
  DialResult,
  FindCallResult,
} from '../../src/dialer/dialer.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { eventually, leads, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { sqliteDb } from '../support/sqlite.js';

/** The system clock, until frozen: then no timer set through it fires, as in a stopped process. */
class FreezableClock implements Clock {
  frozen = false;
  now(): number {
    return systemClock.now();
  }
  setTimeout(fn: () => void, ms: number): unknown {
    return systemClock.setTimeout(() => {
      if (!this.frozen) fn();
    }, ms);
  }
  clearTimeout(handle: unknown): void {
    systemClock.clearTimeout(handle);
  }
}

/** The provider: a recording dialer that can be asked which call a job's attempt placed. */
class Provider extends RecordingDialer {
  async findCall(req: DialRequest): Promise<FindCallResult> {
    const placed = this.calls.filter((c) => c.jobId === req.jobId && c.lockToken === req.lockToken);
    if (placed.length !== 1) return { match: 'none' };
    const { jobId, callId, endedAt } = placed[0]!;
    return {
      match: 'found',
      call: { jobId, callId, status: endedAt === undefined ? 'in-progress' : 'completed' },
    };
  }
}

/** Places the call at the provider, then never returns: the process stops before it learns the call id. */
class StalledDialer implements Dialer {
  constructor(private readonly provider: Provider) {}
  dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
    void this.provider.dial(req, ctx);
    return new Promise(() => {});
  }
}

describe('a job left dialing without a call id by a process that stopped', () => {
  it('is resolved from the provider by the process that reclaims its slot: its live call keeps counting', async () => {
    const db = sqliteDb();
    const limiter = new MemorySlotLimiter();
    const provider = new Provider({ durationMs: 'manual' });
    const clock = new FreezableClock();
    const stopped = await startQueue(new StalledDialer(provider), { db, limiter, clock, leaseMs: 1000 });
    const run = await stopped.queue.startRun({ businessId: 'b', concurrency: 1, leads: leads(2) });
    await eventually(() => provider.calls.length === 1);
    clock.frozen = true;

    const live = await startQueue(provider, { db, limiter, leaseMs: 1000 });
    try {
      const [first] = provider.calls;
      // The reclaiming process finds the call and records it as the job's.
      await eventually(async () => (await live.queue.getJob(first!.jobId)).callId === first!.callId, 10_000);
      expect(provider.calls).toHaveLength(1);
      provider.hangUp(first!.callId);
      const { jobId, lockToken, callId } = first!;
      await live.queue.handleCallEvent({ jobId, lockToken, callId, status: 'completed' });
      await eventually(() => provider.calls.length === 2, 10_000);
      await provider.end(provider.calls[1]!.callId);
      const done = await live.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
      expect(done.counts.completed).toBe(2);
      expect(provider.maxConcurrent('b')).toBe(1);
    } finally {
      await live.close();
      await db.destroy();
    }
  });
});
