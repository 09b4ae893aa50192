import { afterEach, describe, expect, it } from 'vitest';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('the seed scenario: 7 leads at concurrency 3', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('places all 7 calls, never more than 3 at once, and logs the OUTBOUND_* lines', async () => {
    const dialer = new RecordingDialer({ durationMs: 50 });
    fx = await startQueue(dialer);
    const run = await fx.queue.startRun({ businessId: '4', concurrency: 3, leads: leads(7) });
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 });

    expect(done.status).toBe('completed');
    expect(done.counts.completed).toBe(7);
    expect(dialer.calls).toHaveLength(7);
    expect(dialer.maxConcurrent('4')).toBe(3);
    expect([...dialer.dialsPerJob().values()].every((n) => n === 1)).toBe(true);
    // Each call starts either straight from a free slot or by a hand-off; which one depends on timing.
    const enqueue = fx.logger.named('OUTBOUND_ENQUEUE');
    expect(enqueue.length + fx.logger.named('OUTBOUND_NEXT').length).toBe(7);
    expect(enqueue.slice(0, 3).map((l) => l.obj.active)).toEqual([1, 2, 3]);
    expect(fx.logger.named('OUTBOUND_QUEUED').length).toBeGreaterThanOrEqual(1);
    expect(fx.logger.named('OUTBOUND_DONE')).toHaveLength(7);
    expect(fx.logger.named('OUTBOUND_NEXT').length).toBeGreaterThanOrEqual(1);
    expect(fx.logger.named('OUTBOUND_ENQUEUE')[0]?.obj).toMatchObject({
      business_id: '4',
      active: 1,
      limit: 3,
    });
    expect(fx.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('dials leads in the order they were given', async () => {
    const dialer = new RecordingDialer({ durationMs: 5 });
    fx = await startQueue(dialer);
    const run = await fx.queue.startRun({ businessId: 'b', concurrency: 1, leads: leads(6) });
    await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
    const jobs = await fx.queue.listJobs(run.runId);
    expect(dialer.calls.map((c) => c.jobId)).toEqual(jobs.map((j) => j.jobId));
  });

  it("gives the dialer the lead's caller id, or else the run's", async () => {
    const dialer = new RecordingDialer({ durationMs: 5 });
    fx = await startQueue(dialer);
    const [first, second] = leads(2);
    const run = await fx.queue.startRun({
      businessId: 'f',
      concurrency: 1,
      from: '+14155550100',
      leads: [{ ...first!, from: '+14155550199' }, second!],
    });
    await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
    expect(dialer.calls.map((c) => c.from)).toEqual(['+14155550199', '+14155550100']);
  });

  it('keeps businesses apart: each has its own limit', async () => {
    const dialer = new RecordingDialer({ durationMs: 20 });
    fx = await startQueue(dialer);
    const a = await fx.queue.startRun({ businessId: 'a', concurrency: 2, leads: leads(8) });
    const b = await fx.queue.startRun({ businessId: 'b', concurrency: 5, leads: leads(12, 100) });
    await fx.queue.waitForRun(a.runId, { timeoutMs: 10_000 });
    await fx.queue.waitForRun(b.runId, { timeoutMs: 10_000 });
    expect(dialer.maxConcurrent('a')).toBe(2);
    expect(dialer.maxConcurrent('b')).toBe(5);
    expect(dialer.calls).toHaveLength(20);
  });

  it('emits job and run events', async () => {
    const dialer = new RecordingDialer({ durationMs: 5 });
    fx = await startQueue(dialer);
    const seen: string[] = [];
    fx.queue.on('job:dialing', () => seen.push('dialing'));
    fx.queue.on('job:ended', () => seen.push('ended'));
    fx.queue.on('slot:released', () => seen.push('released'));
    fx.queue.on('run:completed', () => seen.push('completed'));
    const run = await fx.queue.startRun({ businessId: 'b', concurrency: 2, leads: leads(3) });
    await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
    expect(seen.filter((s) => s === 'dialing')).toHaveLength(3);
    expect(seen.filter((s) => s === 'ended')).toHaveLength(3);
    expect(seen.filter((s) => s === 'released')).toHaveLength(3);
    expect(seen.filter((s) => s === 'completed')).toHaveLength(1);
  });
});
