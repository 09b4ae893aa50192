import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError, NotFoundError } from '../../src/errors.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('stop, pause and resume (guarantee 5)', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  for (const delayMs of [0, 3, 17, 45, 90]) {
    it(`stop at ${delayMs} ms: no dial afterwards, every job terminal or with its call placed`, async () => {
      const dialer = new RecordingDialer({ durationMs: 30 });
      fx = await startQueue(dialer);
      const run = await fx.queue.startRun({ businessId: 'stop', concurrency: 3, leads: leads(25) });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const stopped = await fx.queue.stop(run.runId);
      const dialsAtStop = dialer.calls.length;
      const dialed = new Set(dialer.calls.map((c) => c.jobId));

      expect(stopped.status).toBe('stopped');
      for (const job of await fx.queue.listJobs(run.runId, { limit: 1000 })) {
        const terminal = ['completed', 'busy', 'no_answer', 'failed', 'canceled'].includes(job.status);
        expect(terminal || dialed.has(job.jobId)).toBe(true);
      }
      const finished = await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 });
      expect(finished.status).toBe('stopped');
      expect(dialer.calls.length).toBe(dialsAtStop);
      expect(finished.counts.canceled + finished.counts.completed).toBe(25);
      expect(finished.counts.completed).toBe(dialsAtStop);
    });
  }

  it('stop with hangup ends the calls in progress', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const hungUp: string[] = [];
    dialer.hangup = async (callId: string) => {
      hungUp.push(callId);
      await dialer.end(callId, 'completed');
    };
    fx = await startQueue(dialer);
    const run = await fx.queue.startRun({ businessId: 'h', concurrency: 2, leads: leads(5) });
    await eventually(async () => (await fx!.queue.getRun(run.runId)).active === 2);
    await eventually(async () =>
      (await fx!.queue.listJobs(run.runId, { status: 'dialing' })).every((j) => j.callId),
    );
    await fx.queue.stop(run.runId, { hangup: true });
    expect(hungUp).toHaveLength(2);
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 });
    expect(done.counts).toMatchObject({ completed: 2, canceled: 3 });
  });

  it('pause holds new dials; resume finishes the run', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const run = await fx.queue.startRun({ businessId: 'p', concurrency: 2, leads: leads(6) });
    await eventually(() => dialer.calls.length === 2);
    expect((await fx.queue.pause(run.runId)).status).toBe('paused');
    expect((await fx.queue.pause(run.runId)).status).toBe('paused');
    for (const call of [...dialer.liveCalls()]) await dialer.end(call.callId);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(dialer.calls).toHaveLength(2);
    expect((await fx.queue.getRun(run.runId)).counts.queued).toBe(4);

    expect((await fx.queue.resume(run.runId)).status).toBe('running');
    while (dialer.calls.length < 6 || dialer.liveCalls().length > 0) {
      await eventually(() => dialer.liveCalls().length > 0 || dialer.calls.length === 6);
      for (const call of [...dialer.liveCalls()]) await dialer.end(call.callId);
    }
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 });
    expect(done.status).toBe('completed');
    expect(done.counts.completed).toBe(6);
    expect(dialer.maxConcurrent('p')).toBe(2);
  });

  it('refuses to resume a stopped run, and names unknown runs', async () => {
    fx = await startQueue(new RecordingDialer({ durationMs: 5 }));
    const run = await fx.queue.startRun({ businessId: 'x', concurrency: 1, leads: leads(2) });
    await fx.queue.stop(run.runId);
    await expect(fx.queue.resume(run.runId)).rejects.toThrow(InvalidStateError);
    await expect(fx.queue.pause(run.runId)).rejects.toThrow(InvalidStateError);
    await expect(fx.queue.getRun('nope')).rejects.toThrow(NotFoundError);
    await expect(fx.queue.stop('nope')).rejects.toThrow(NotFoundError);
  });

  it('close() in one process lets another adopt and finish its runs', async () => {
    const dialer = new RecordingDialer({ durationMs: 20 });
    fx = await startQueue(dialer, { leaseMs: 300 });
    const run = await fx.queue.startRun({ businessId: 'adopt', concurrency: 2, leads: leads(10) });
    await eventually(() => dialer.calls.length >= 2);
    const { db, limiter } = fx;
    await fx.queue.close();
    const second = await startQueue(dialer, { db, limiter, leaseMs: 300 });
    try {
      const done = await second.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
      expect(done.counts.completed).toBe(10);
      expect([...dialer.dialsPerJob().values()].every((n) => n === 1)).toBe(true);
    } finally {
      await second.queue.close();
    }
  });
});
