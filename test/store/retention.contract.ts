import { describe, expect, it } from 'vitest';
import type { JobStore, NewJob } from '../../src/store/job-store.js';
import type { StoreUnderTest } from './job-store.contract.js';

/** Writes a run of `n` jobs for business `biz`; returns their ids. */
async function run(store: JobStore, runId: string, n: number): Promise<string[]> {
  const jobs: NewJob[] = Array.from({ length: n }, (_, i) => ({
    jobId: `${runId}-j${i}`,
    seq: i + 1,
    to: '+14155550101',
    metadata: {},
  }));
  await store.createRun({ runId, businessId: 'biz', concurrency: 5, total: n, createdAt: 1000 }, jobs);
  return jobs.map((job) => job.jobId);
}

/**
 * The contract of {@link JobStore.finishedRuns} and {@link JobStore.purgeRunJobs} (retention);
 * run inside `jobStoreContract`, whose `beforeEach` empties the store.
 * @param setup - gives the store under test
 */
export function retentionContract(setup: () => StoreUnderTest) {
  describe('retention (purge of finished runs)', () => {
    it('lists runs finished before the cutoff whose jobs all ended, oldest first', async () => {
      const { store } = setup();
      await run(store, 'r-live', 2);
      await run(store, 'r-new', 2);
      await run(store, 'r-old', 2);
      await store.setRunStatus('r-old', ['running'], 'stopped', 1500);
      await store.setRunStatus('r-new', ['running'], 'stopped', 2500);
      await store.cancelQueuedJobs('r-old', 1500);
      await store.cancelQueuedJobs('r-new', 2500);
      expect(await store.finishedRuns(3000, 10)).toEqual(['r-old', 'r-new']);
      expect(await store.finishedRuns(2000, 10)).toEqual(['r-old']);
      expect(await store.finishedRuns(3000, 1)).toEqual(['r-old']);
    });

    it('holds back a stopped run while one of its calls is live', async () => {
      const { store } = setup();
      const [first] = await run(store, 'r-call', 3);
      await store.claimJob(first!, 'tok', 1200);
      await store.setRunStatus('r-call', ['running'], 'stopped', 1500);
      await store.cancelQueuedJobs('r-call', 1500);
      expect(await store.finishedRuns(3000, 10)).toEqual([]);
      await store.transition({ jobId: first!, lockToken: 'tok', status: 'completed' }, 1600);
      expect(await store.finishedRuns(3000, 10)).toEqual(['r-call']);
    });

    it('deletes a run in batches of jobs, the run row last', async () => {
      const { store } = setup();
      const kept = await run(store, 'r-kept', 2);
      await run(store, 'r-gone', 5);
      await store.setRunStatus('r-gone', ['running'], 'stopped', 1500);
      await store.cancelQueuedJobs('r-gone', 1500);
      expect(await store.purgeRunJobs('r-gone', 2)).toEqual({ jobs: 2, runDeleted: false });
      expect(await store.getRun('r-gone')).toBeDefined();
      expect(await store.purgeRunJobs('r-gone', 2)).toEqual({ jobs: 2, runDeleted: false });
      expect(await store.purgeRunJobs('r-gone', 2)).toEqual({ jobs: 1, runDeleted: true });
      expect(await store.getRun('r-gone')).toBeUndefined();
      expect(await store.getJob('r-gone-j0')).toBeUndefined();
      expect((await store.getJob(kept[0]!))?.status).toBe('queued');
      // A running run keeps its ended jobs.
      await store.claimJob(kept[1]!, 'tok', 1600);
      await store.transition({ jobId: kept[1]!, lockToken: 'tok', status: 'completed' }, 1700);
      expect(await store.purgeRunJobs('r-kept', 10)).toEqual({ jobs: 0, runDeleted: false });
      expect((await store.getJob(kept[1]!))?.status).toBe('completed');
      expect(await store.getRun('r-kept')).toBeDefined();
    });
  });
}
