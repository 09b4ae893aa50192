import type { ClaimedJob, JobStore } from '../../src/store/job-store.js';
import type { KyselyStore } from '../../src/store/kysely/kysely-store.js';

/**
 * Routes every claim of `store` through `around`, which decides when (and whether) the store's
 * own claim runs: tests use it to make things happen between a grant and its claim. The claim a
 * hand-off writes together with the end before it (`claimJobAfter`) is turned off, so that every
 * claim, that one included, comes through `claimJob` once the end is written.
 * @param store - the store whose `claimJob` is wrapped (in place)
 * @param around - gets the job id and the store's claim with the caller's arguments
 * @returns the same store
 */
export function aroundClaims(
  store: KyselyStore,
  around: (jobId: string, claim: () => Promise<ClaimedJob | undefined>) => Promise<ClaimedJob | undefined>,
): KyselyStore {
  const claimJob = store.claimJob.bind(store);
  (store as JobStore).claimJobAfter = undefined;
  store.claimJob = (jobId, lockToken, now, fence) =>
    around(jobId, () => claimJob(jobId, lockToken, now, fence));
  return store;
}
