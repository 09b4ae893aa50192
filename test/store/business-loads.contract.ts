import { describe, expect, it } from 'vitest';
import type { JobStore, NewJob } from '../../src/store/job-store.js';
import type { StoreUnderTest } from './job-store.contract.js';

/** Writes a run of `n` jobs and claims the first `claimed` of them (live calls). */
async function run(
  store: JobStore,
  runId: string,
  businessId: string,
  concurrency: number,
  n: number,
  claimed: number,
): Promise<string[]> {
  const jobs: NewJob[] = Array.from({ length: n }, (_, i) => ({
    jobId: `${runId}-j${i}`,
    seq: i + 1,
    to: '+14155550101',
    metadata: {},
  }));
  await store.createRun({ runId, businessId, concurrency, total: n, createdAt: 1000 }, jobs);
  for (const job of jobs.slice(0, claimed))
    expect(await store.claimJob(job.jobId, `t-${job.jobId}`, 2000)).toBeDefined();
  return jobs.map((job) => job.jobId);
}

/**
 * The contract of {@link JobStore.businessLoads}: live calls per business over all its runs, waiting
 * jobs and limit over its live runs, in one read; run inside `jobStoreContract` (its `beforeEach`
 * empties the store).
 * @param setup - gives the store under test
 */
export function businessLoadsContract(setup: () => StoreUnderTest) {
  describe('business loads (the gauges of queue.metrics())', () => {
    it('answers nothing without live runs', async () => {
      const { store } = setup();
      expect(await store.businessLoads()).toEqual([]);
    });

    it('counts live calls and queued jobs of each business, by id', async () => {
      const { store, other } = setup();
      // b-1: two live runs (one paused), a call ended; b-2: its own limit above its run's.
      const first = await run(store, 'bl-r1', 'b-1', 3, 5, 2);
      await run(store, 'bl-r2', 'b-1', 4, 3, 1);
      expect(await store.setRunStatus('bl-r2', ['running'], 'paused', 3000)).toBe(true);
      await store.transition({ jobId: first[0]!, lockToken: `t-${first[0]}`, status: 'completed' }, 4000);
      await run(store, 'bl-r3', 'b-2', 2, 2, 0);
      await store.putBusinessLimits('b-2', { concurrency: 7, dialsPerSecond: null, group: null }, 5000);
      // b-3: its run stopped without hang-up, a call still live in it (its slot held): the call
      // counts, the run's queued job does not, and without a live run nor a limit of its own the
      // limit is 0.
      await run(store, 'bl-r4', 'b-3', 2, 2, 1);
      expect(await store.setRunStatus('bl-r4', ['running'], 'stopped', 6000)).toBe(true);
      // b-4: a live run whose jobs all ended.
      const done = await run(store, 'bl-r5', 'b-4', 1, 1, 1);
      await store.transition({ jobId: done[0]!, lockToken: `t-${done[0]}`, status: 'busy' }, 7000);
      expect(await other.businessLoads()).toEqual([
        { businessId: 'b-1', active: 2, waiting: 5, limit: 4 },
        { businessId: 'b-2', active: 0, waiting: 2, limit: 7 },
        { businessId: 'b-3', active: 1, waiting: 0, limit: 0 },
        { businessId: 'b-4', active: 0, waiting: 0, limit: 1 },
      ]);
    });

    it('counts the live calls of stopped runs (stopped without hang-up) with those of live runs', async () => {
      const { store, other } = setup();
      // s-1: a live run with a call, and a stopped run whose two calls are still up, one of them
      // ringing; the stopped run's queued jobs and its higher concurrency count for nothing.
      await run(store, 'st-r1', 's-1', 2, 3, 1);
      const stopped = await run(store, 'st-r2', 's-1', 9, 4, 2);
      await store.transition({ jobId: stopped[1]!, lockToken: `t-${stopped[1]}`, status: 'ringing' }, 2500);
      expect(await store.setRunStatus('st-r2', ['running'], 'stopped', 3000)).toBe(true);
      // s-2: only a stopped run with a live call; its own limit is its limit.
      await run(store, 's-r3', 's-2', 3, 2, 1);
      expect(await store.setRunStatus('s-r3', ['running'], 'stopped', 3000)).toBe(true);
      await store.putBusinessLimits('s-2', { concurrency: 5, dialsPerSecond: null, group: null }, 3500);
      // s-3: a stopped run whose call has ended since: nothing left to show.
      const ended = await run(store, 's-r4', 's-3', 1, 1, 1);
      expect(await store.setRunStatus('s-r4', ['running'], 'stopped', 3000)).toBe(true);
      await store.transition({ jobId: ended[0]!, lockToken: `t-${ended[0]}`, status: 'canceled' }, 4000);
      expect(await other.businessLoads()).toEqual([
        { businessId: 's-1', active: 3, waiting: 2, limit: 2 },
        { businessId: 's-2', active: 1, waiting: 0, limit: 5 },
      ]);
      // Once the stopped run's calls end, the business is back to its live run alone.
      for (const jobId of stopped.slice(0, 2))
        await store.transition({ jobId, lockToken: `t-${jobId}`, status: 'completed' }, 5000);
      expect((await other.businessLoads())[0]).toEqual({
        businessId: 's-1',
        active: 1,
        waiting: 2,
        limit: 2,
      });
    });
  });
}
