import { afterEach, describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { ReleaseResult } from '../../src/limiter/slot-limiter.js';
import { HeldEndsStore } from '../support/held-ends-store.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { sqliteDb } from '../support/sqlite.js';

describe('the end of a call placed by this process', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('frees its slot only once the end is written: the next call waits for the write', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const db = sqliteDb();
    const store = new HeldEndsStore({ db });
    const limiter = new MemorySlotLimiter();
    const releases: Promise<ReleaseResult>[] = [];
    const release = limiter.release.bind(limiter);
    limiter.release = (...args) => {
      const answer = release(...args);
      releases.push(answer);
      return answer;
    };
    fx = await startQueue(dialer, { db, store, limiter });
    const order: string[] = [];
    fx.queue.on('job:ended', (e) => order.push(`ended ${e.jobId}`));
    fx.queue.on('slot:released', (e) => order.push(`released ${e.jobId}`));
    fx.queue.on('job:dialing', (e) => order.push(`dialing ${e.jobId}`));
    const run = await fx.queue.startRun({ businessId: 'e', concurrency: 1, leads: leads(2) });
    await eventually(() => dialer.calls.length === 1);
    const first = dialer.calls[0]!;
    const ending = dialer.end(first.callId);
    // While the end's write is held, the slot stays the first call's: nothing counts 2 live.
    await eventually(() => store.held === 1);
    expect(releases).toHaveLength(0);
    expect((await fx.queue.getRun(run.runId)).active).toBe(1);
    expect(dialer.calls).toHaveLength(1);
    store.release();
    await ending;
    await eventually(() => dialer.calls.length === 2);
    await dialer.end(dialer.calls[1]!.callId);
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 });
    expect(done.counts.completed).toBe(2);
    expect(dialer.maxConcurrent('e')).toBe(1);
    const second = dialer.calls[1]!.jobId;
    expect(order.slice(0, 4)).toEqual([
      `dialing ${first.jobId}`,
      `ended ${first.jobId}`,
      `released ${first.jobId}`,
      `dialing ${second}`,
    ]);
    await db.destroy();
  });

  it('reported by its dialer and by a webhook at once frees the slot once and dials the next job once', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const released: string[] = [];
    fx.queue.on('slot:released', (e) => released.push(e.jobId));
    const run = await fx.queue.startRun({ businessId: 'g', concurrency: 1, leads: leads(3) });
    await eventually(() => dialer.calls.length === 1);
    const first = dialer.calls[0]!;
    const webhook = { jobId: first.jobId, lockToken: first.lockToken, callId: first.callId };
    const ended: string[] = [];
    fx.queue.on('job:ended', (e) => ended.push(e.jobId));
    await Promise.all([
      fx.queue.handleCallEvent({ ...webhook, status: 'completed' }),
      dialer.end(first.callId),
      fx.queue.handleCallEvent({ ...webhook, status: 'completed' }),
    ]);
    // Whichever of the three wrote the end first, the end is recorded once.
    expect(ended).toEqual([first.jobId]);
    await eventually(() => dialer.calls.length === 2);
    expect(released).toEqual([first.jobId]);
    await dialer.end(dialer.calls[1]!.callId);
    await eventually(() => dialer.calls.length === 3);
    await dialer.end(dialer.calls[2]!.callId);
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 });
    expect(done.counts.completed).toBe(3);
    expect(dialer.maxConcurrent('g')).toBe(1);
    expect([...dialer.dialsPerJob().values()]).toEqual([1, 1, 1]);
    expect(released).toEqual(dialer.calls.map((c) => c.jobId));
  });

  it('that does not name the call it placed (another lock token and call id) frees nothing', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const released: string[] = [];
    fx.queue.on('slot:released', (e) => released.push(e.jobId));
    const run = await fx.queue.startRun({ businessId: 'f', concurrency: 1, leads: leads(2) });
    await eventually(() => dialer.calls.length === 1);
    const first = dialer.calls[0]!;
    // The dialer reports an end through the call's own context, but for someone else's call.
    await dialer.end(first.callId, 'completed', { lockToken: 'not-this-claim', callId: 'CA-other' });
    expect(released).toEqual([]);
    expect((await fx.queue.listJobs(run.runId, { status: 'dialing' })).map((j) => j.jobId)).toEqual([
      first.jobId,
    ]);
    expect(dialer.calls).toHaveLength(1);
    // The real end (the provider's callback) frees it and the next call starts.
    await fx.queue.handleCallEvent({ jobId: first.jobId, lockToken: first.lockToken, status: 'completed' });
    await eventually(() => dialer.calls.length === 2);
    expect(released).toEqual([first.jobId]);
    await dialer.end(dialer.calls[1]!.callId);
    expect((await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 })).counts.completed).toBe(2);
  });
});
