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
 * The contract of {@link JobStore.businessLoads}: live calls, waiting jobs and limit per business
 * over its live runs, in one read; run inside `jobStoreContract` (its `beforeEach` empties the store).
 * @param setup - gives the store under test
 */
export function businessLoadsContract(setup: () => StoreUnderTest) {
  describe('business loads (the gauges of queue.metrics())', () => {
    it('answers nothing without live runs', async () => {
      const { store } = setup();
      expect(await store.businessLoads()).toEqual([]);
    });

    it('counts live calls and queued jobs over the live runs of each business, by id', async () => {
      const { store, other } = setup();
      // b-1: two live runs (one paused), a call ended; b-2: its own limit above its run's.
      const first = await run(store, 'bl-r1', 'b-1', 3, 5, 2);
      await run(store, 'bl-r2', 'b-1', 4, 3, 1);
      expect(await store.setRunStatus('bl-r2', ['running'], 'paused', 3000)).toBe(true);
      await store.transition({ jobId: first[0]!, lockToken: `t-${first[0]}`, status: 'completed' }, 4000);
      await run(store, 'bl-r3', 'b-2', 2, 2, 0);
      await store.putBusinessLimits('b-2', { concurrency: 7, dialsPerSecond: null, group: null }, 5000);
      // b-3: its run stopped, a call still live in it: not a live run, not counted.
      await run(store, 'bl-r4', 'b-3', 2, 2, 1);
      expect(await store.setRunStatus('bl-r4', ['running'], 'stopped', 6000)).toBe(true);
      // b-4: a live run whose jobs all ended.
      const done = await run(store, 'bl-r5', 'b-4', 1, 1, 1);
      await store.transition({ jobId: done[0]!, lockToken: `t-${done[0]}`, status: 'busy' }, 7000);
      expect(await other.businessLoads()).toEqual([
        { businessId: 'b-1', active: 2, waiting: 5, limit: 4 },
        { businessId: 'b-2', active: 0, waiting: 2, limit: 7 },
        { businessId: 'b-4', active: 0, waiting: 0, limit: 1 },
      ]);
    });
  });
}
