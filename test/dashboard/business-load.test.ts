import { afterEach, describe, expect, it } from 'vitest';
import { businessLoad } from '../../src/dashboard/business-load.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

let fx: QueueFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('businessLoad', () => {
  it("computes the limit as the store's businessLoads does: its own, else the highest of its live runs", async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const { queue, store } = fx;
    // Two live runs, no limit of its own: the higher run concurrency.
    await queue.startRun({ businessId: 'runs-only', concurrency: 2, leads: leads(3) });
    const paused = await queue.startRun({ businessId: 'runs-only', concurrency: 5, leads: leads(2, 10) });
    await queue.pause(paused.runId);
    // Its own limit wins, lower or higher than the runs'.
    await queue.setBusinessLimits('own-lower', { concurrency: 1 });
    await queue.startRun({ businessId: 'own-lower', concurrency: 4, leads: leads(2, 20) });
    await queue.setBusinessLimits('own-higher', { concurrency: 9 });
    await queue.startRun({ businessId: 'own-higher', concurrency: 3, leads: leads(1, 30) });
    // A stopped run does not count.
    const stopped = await queue.startRun({ businessId: 'own-higher', concurrency: 20, leads: leads(1, 40) });
    await queue.stop(stopped.runId, { hangup: true });
    await eventually(() => dialer.liveCalls().length === 4);

    const fromStore = new Map((await store.businessLoads()).map((load) => [load.businessId, load]));
    const ids = ['runs-only', 'own-lower', 'own-higher'];
    const fromDashboard = await Promise.all(ids.map(async (id) => businessLoad(await queue.getBusiness(id))));
    expect(fromDashboard.map((load) => [load.businessId, load.limit])).toEqual([
      ['runs-only', 5],
      ['own-lower', 1],
      ['own-higher', 9],
    ]);
    for (const load of fromDashboard) {
      expect(fromStore.get(load.businessId), load.businessId).toMatchObject({
        businessId: load.businessId,
        limit: load.limit,
        waiting: load.waiting,
      });
    }
    // Neither a limit of its own nor a live run: 0.
    expect(businessLoad(await queue.getBusiness('nobody'))).toEqual({
      businessId: 'nobody',
      active: 0,
      limit: 0,
      waiting: 0,
    });
  });
});
