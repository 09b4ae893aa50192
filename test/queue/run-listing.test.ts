import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('listRuns and getJob', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  it('lists runs newest first with their counts, filtered and paged', async () => {
    let now = 1_000;
    fx = await startQueue(new RecordingDialer({ durationMs: 'manual' }), {
      clock: { ...systemClock, now: () => now },
    });
    const started: string[] = [];
    for (const [i, businessId] of ['a', 'b', 'a', 'a'].entries()) {
      now += 10;
      started.push((await fx.queue.startRun({ businessId, concurrency: 1, leads: leads(2, i * 10) })).runId);
    }
    await fx.queue.stop(started[0]!);
    const all = await fx.queue.listRuns();
    expect(all.map((r) => r.runId)).toEqual([...started].reverse());
    expect(all[3]).toMatchObject({ status: 'stopped', total: 2 });
    expect(all[3]!.counts.canceled).toBeGreaterThanOrEqual(1);

    const page1 = await fx.queue.listRuns({ businessId: 'a', limit: 2 });
    expect(page1.map((r) => r.runId)).toEqual([started[3], started[2]]);
    const page2 = await fx.queue.listRuns({ businessId: 'a', limit: 2, after: page1[1]!.runId });
    expect(page2.map((r) => r.runId)).toEqual([started[0]]);
    expect((await fx.queue.listRuns({ status: 'stopped' })).map((r) => r.runId)).toEqual([started[0]]);
    expect(
      (await fx.queue.listRuns({ status: ['running', 'paused'], businessId: 'b' })).map((r) => r.runId),
    ).toEqual([started[1]]);

    await expect(fx.queue.listRuns({ limit: 0 })).rejects.toThrow(ValidationError);
    await expect(fx.queue.listRuns({ status: 'done' as never })).rejects.toThrow(ValidationError);
    await expect(fx.queue.listRuns({ after: 'no-such-run' })).rejects.toThrow(ValidationError);
  });

  it('reads one job, and refuses an unknown one with NotFoundError', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const run = await fx.queue.startRun({ businessId: 'g', concurrency: 1, leads: leads(1) });
    // Placed and its call id written: nothing changes the job until its call ends.
    await eventually(async () => (await fx!.queue.listJobs(run.runId))[0]?.callId !== undefined);
    expect(dialer.calls).toHaveLength(1);
    const [listed] = await fx.queue.listJobs(run.runId);
    const read = await fx.queue.getJob(listed!.jobId);
    // The same job, with its one attempt under way.
    expect(read).toEqual({
      ...listed,
      attempts: [{ attempt: 1, status: 'dialing', callId: listed!.callId, startedAt: expect.any(Date) }],
    });
    await expect(fx.queue.getJob('no-such-job')).rejects.toThrow(NotFoundError);
  });
});
