import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('queue.purge({ olderThan })', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  it('deletes runs finished longer ago than olderThan, with their jobs, and leaves the others', async () => {
    let now = 1_000_000;
    fx = await startQueue(new RecordingDialer({ durationMs: 1 }), {
      clock: { ...systemClock, now: () => now },
    });
    const old = await fx.queue.startRun({ businessId: 'a', concurrency: 3, leads: leads(7) });
    await fx.queue.waitForRun(old.runId, { timeoutMs: 10_000 });
    now += 60_000;
    const recent = await fx.queue.startRun({ businessId: 'a', concurrency: 3, leads: leads(4, 100) });
    await fx.queue.waitForRun(recent.runId, { timeoutMs: 10_000 });
    const live = await fx.queue.startRun({ businessId: 'b', concurrency: 1, leads: leads(2, 200) });
    await fx.queue.pause(live.runId);
    now += 30_000;

    expect(await fx.queue.purge({ olderThan: 50_000, batchSize: 3 })).toEqual({ runs: 1, jobs: 7 });
    await expect(fx.queue.getRun(old.runId)).rejects.toThrow(NotFoundError);
    expect((await fx.queue.getRun(recent.runId)).total).toBe(4);
    expect((await fx.queue.getRun(live.runId)).status).toBe('paused');
    expect(await fx.queue.purge({ olderThan: 50_000 })).toEqual({ runs: 0, jobs: 0 });
    expect(await fx.queue.purge({ olderThan: 0 })).toEqual({ runs: 1, jobs: 4 });
    expect((await fx.queue.listRuns()).map((run) => run.runId)).toEqual([live.runId]);
  });

  it('refuses a bad olderThan or batchSize, and an olderThan shorter than the contact cap period', async () => {
    fx = await startQueue(new RecordingDialer({ durationMs: 'manual' }), {
      contactCap: { count: 3, perMs: 86_400_000 },
    });
    for (const options of [{ olderThan: -1 }, { olderThan: 1.5 }, { olderThan: 86_400_000, batchSize: 0 }]) {
      await expect(fx.queue.purge(options)).rejects.toThrow(ValidationError);
    }
    await expect(fx.queue.purge({ olderThan: 3_600_000 })).rejects.toThrow(/contactCap/);
    expect(await fx.queue.purge({ olderThan: 86_400_000 })).toEqual({ runs: 0, jobs: 0 });
  });
});
