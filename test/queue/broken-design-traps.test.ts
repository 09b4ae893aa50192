import { afterEach, describe, expect, it } from 'vitest';
import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { AcquireStatus, SlotAsk, SlotLimiter } from '../../src/limiter/slot-limiter.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

/**
 * Regression tests for the three traps of the known-broken design (SPEC §1). Each fails on the
 * broken behaviour.
 */
describe('traps of the broken design', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('already_queued means wait: the job is dialed, and no later job is offered before it', async () => {
    // A limiter whose line survived a feeder restart: every job that was ever enqueued answers
    // already_queued on its next acquire, as Redis would after the owning process restarted.
    const inner = new MemorySlotLimiter();
    const answers: { jobId: string; status: AcquireStatus }[] = [];
    const limiter: SlotLimiter = Object.assign(Object.create(inner) as SlotLimiter, {
      async acquireMany(key: string, jobIds: readonly string[], ask: SlotAsk, leaseMs: number) {
        const first = await inner.acquireMany(key, jobIds, ask, leaseMs);
        const statuses = first.statuses.map((s) => (s === 'enqueued' ? ('already_queued' as const) : s));
        for (const [i, jobId] of jobIds.entries()) answers.push({ jobId, status: statuses[i]! });
        return { ...first, statuses };
      },
    });
    const dialer = new RecordingDialer({ durationMs: 20 });
    fx = await startQueue(dialer, { limiter });
    const run = await fx.queue.startRun({ businessId: '4', concurrency: 3, leads: leads(7) });
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 });

    expect(done.counts.completed).toBe(7);
    expect(dialer.calls).toHaveLength(7);
    expect(answers.some((a) => a.status === 'already_queued')).toBe(true);
    // Waiting, not skipping: after a job answered already_queued, the next acquire is for the
    // same job or comes after it was dialed; the run offers jobs in order.
    const jobs = await fx.queue.listJobs(run.runId);
    const order = jobs.map((j) => j.jobId);
    const offered = answers.map((a) => order.indexOf(a.jobId));
    for (let i = 1; i < offered.length; i++) expect(offered[i]).toBeGreaterThanOrEqual(offered[i - 1]!);
    expect(dialer.calls.map((c) => c.jobId)).toEqual(order);
  });

  it('reports a lock token mismatch only when the compare-and-set touched no row', async () => {
    const dialer = new RecordingDialer({ durationMs: 5 });
    fx = await startQueue(dialer);
    const ok = await fx.queue.startRun({ businessId: 'b', concurrency: 2, leads: leads(5) });
    await fx.queue.waitForRun(ok.runId, { timeoutMs: 10_000 });
    expect(fx.logger.named('OUTBOUND_LOCK_CONFLICT')).toEqual([]);

    // Now a real conflict: the job's token changes while dial() is in flight.
    await fx.close();
    const racing: Dialer = {
      async dial(req: DialRequest, _ctx: DialContext): Promise<DialResult> {
        await fx!.db
          .updateTable('oq_jobs')
          .set({ lock_token: 'someone-else' })
          .where('id', '=', req.jobId)
          .execute();
        return { callId: 'CA-conflict' };
      },
    };
    fx = await startQueue(racing);
    const errors: Error[] = [];
    fx.queue.on('error', (e) => errors.push(e));
    await fx.queue.startRun({ businessId: 'c', concurrency: 1, leads: leads(1) });
    await eventually(() => fx!.logger.named('OUTBOUND_LOCK_CONFLICT').length > 0);
    expect(fx.logger.named('OUTBOUND_LOCK_CONFLICT')).toHaveLength(1);
    expect(fx.logger.named('OUTBOUND_LOCK_CONFLICT')[0]?.level).toBe('error');
    expect(errors).toHaveLength(1);
  });

  it('hands a freed slot to the next job at once, not on a poll', async () => {
    // Leases of 60 s: any poll or sweep would take at least 20 s (a third of the lease); a hand-off
    // takes milliseconds on an idle machine, and can take a second or more on a loaded one.
    const leaseMs = 60_000;
    const pollFloorMs = leaseMs / 3;
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer, { leaseMs });
    const run = await fx.queue.startRun({ businessId: 'h', concurrency: 1, leads: leads(4) });
    const gaps: number[] = [];
    // Deadlines past the poll floor: a hand-off that waited for a poll fails on its gap below.
    for (let i = 0; i < 4; i++) {
      await eventually(() => dialer.calls.length === i + 1, 2 * pollFloorMs);
      if (i === 3) break;
      const ended = performance.now();
      await dialer.end(dialer.calls[i]!.callId);
      await eventually(() => dialer.calls.length === i + 2, 2 * pollFloorMs);
      gaps.push(dialer.calls[i + 1]!.startedAt - ended);
      // At once (a hand-off that waited for a poll fails here, before the next 20 s wait).
      expect(gaps[i], `hand-off ${i + 1}`).toBeLessThan(pollFloorMs / 4);
    }
    await dialer.end(dialer.calls[3]!.callId);
    await fx.queue.waitForRun(run.runId, { timeoutMs: 30_000 });
    // The bound is far below the poll floor and far above a hand-off on a loaded machine: a fixed
    // 250 ms bound measured the machine's load as much as the queue.
    expect(gaps).toHaveLength(3);
  });
});
