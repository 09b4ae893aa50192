import { beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { SlotHolders } from '../../src/limiter/slot-limiter.js';
import type { JobStore, NewJob } from '../../src/store/job-store.js';
import { businessLimitsContract } from './business-limits.contract.js';
import { businessLoadsContract } from './business-loads.contract.js';
import { retentionContract } from './retention.contract.js';

/** A store under test and a second handle on the same database (another process's connection). */
export interface StoreUnderTest {
  store: JobStore;
  other: JobStore;
  /** Deletes every run and job. */
  reset(): Promise<void>;
}

let seq = 0;
function newJobs(n: number, prefix = `j${++seq}-`): NewJob[] {
  return Array.from({ length: n }, (_, i) => ({
    jobId: `${prefix}${i}`,
    seq: i + 1,
    to: '+14155550101',
    metadata: { i },
  }));
}

/** The job ids of a fence's holders, sorted. */
function jobIdsOf(fenced: SlotHolders): string[] {
  return fenced.holders.map((holder) => holder.jobId).sort();
}

async function createRun(store: JobStore, runId: string, jobs: NewJob[], now = 1000) {
  return store.createRun(
    { runId, businessId: 'biz', concurrency: 3, total: jobs.length, createdAt: now },
    jobs,
  );
}

/**
 * The behaviour every {@link JobStore} must have, run against SQLite and PostgreSQL alike.
 * @param name - the backend's name for the test titles
 * @param setup - gives the store under test (migrated, empty)
 */
export function jobStoreContract(name: string, setup: () => StoreUnderTest) {
  describe(`JobStore contract: ${name}`, () => {
    beforeEach(async () => setup().reset());

    it('migrate() is idempotent', async () => {
      const { store, other } = setup();
      await Promise.all([store.migrate(), other.migrate()]);
      await store.migrate();
    });

    it('creates a run once per id; a second create writes nothing', async () => {
      const { store, other } = setup();
      const jobs = newJobs(3);
      const [a, b] = await Promise.all([
        createRun(store, 'r-idem', jobs),
        createRun(other, 'r-idem', newJobs(5)),
      ]);
      expect([a.created, b.created].sort()).toEqual([false, true]);
      expect(a.run.total).toBe(b.run.total);
      const counts = await store.countJobs('r-idem');
      expect(counts.queued).toBe(a.created ? 3 : 5);
    });

    it('exactly one of two racing claimers wins, with its own token', async () => {
      const { store, other } = setup();
      const jobs = newJobs(20);
      await createRun(store, 'r-race', jobs);
      for (const job of jobs) {
        const [x, y] = await Promise.all([
          store.claimJob(job.jobId, `tok-a-${job.jobId}`, 2000),
          other.claimJob(job.jobId, `tok-b-${job.jobId}`, 2000),
        ]);
        const winners = [x, y].filter((c) => c !== undefined);
        expect(winners).toHaveLength(1);
        expect(winners[0]?.attempt).toBe(1);
      }
      expect((await store.countJobs('r-race')).dialing).toBe(20);
    });

    it('does not claim jobs of a run that is not running', async () => {
      const { store } = setup();
      const jobs = newJobs(2);
      await createRun(store, 'r-paused', jobs);
      expect(await store.setRunStatus('r-paused', ['running'], 'paused', 1500)).toBe(true);
      expect(await store.claimJob(jobs[0]!.jobId, 't', 2000)).toBeUndefined();
      expect(await store.nextQueuedJobs('r-paused', 0, 10, 2000)).toEqual([]);
      expect(await store.setRunStatus('r-paused', ['running'], 'paused', 1500)).toBe(false);
    });

    it('moves status forward only, writes the terminal status once, and matches token or call id', async () => {
      const { store } = setup();
      const [job] = newJobs(1);
      await createRun(store, 'r-fwd', [job!]);
      const id = job!.jobId;
      await store.claimJob(id, 'tok', 2000);
      expect(await store.recordDialed(id, 'tok', 'CA1', 2001)).toBe(true);
      expect(
        await store.transition({ jobId: id, lockToken: 'bad', status: 'ringing' }, 2002),
      ).toBeUndefined();
      // The current token, but about another call than the one the job holds: nothing changes.
      expect(
        await store.transition({ jobId: id, lockToken: 'tok', callId: 'CA2', status: 'completed' }, 2002),
      ).toBeUndefined();
      expect(
        await store.transition({ jobId: id, lockToken: 'tok', status: 'in_progress' }, 2003),
      ).toMatchObject({
        status: 'in_progress',
      });
      expect(
        await store.transition({ jobId: id, lockToken: 'tok', status: 'ringing' }, 2004),
      ).toBeUndefined();
      const results = await Promise.all([
        store.transition({ jobId: id, callId: 'CA1', status: 'completed' }, 2005),
        store.transition({ jobId: id, lockToken: 'tok', status: 'busy' }, 2005),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.transition({ jobId: id, lockToken: 'tok', status: 'failed' }, 2006)).toBeUndefined();
      const [listed] = await store.listJobs('r-fwd', {});
      expect(['completed', 'busy']).toContain(listed?.status);
      expect(listed?.callId).toBe('CA1');
    });

    it('recordDialed reports a changed token as a conflict', async () => {
      const { store } = setup();
      const [job] = newJobs(1);
      await createRun(store, 'r-conflict', [job!]);
      await store.claimJob(job!.jobId, 'tok', 2000);
      expect(await store.recordDialed(job!.jobId, 'other', 'CA1', 2001)).toBe(false);
      expect(await store.recordDialed(job!.jobId, 'tok', 'CA1', 2001)).toBe(true);
    });

    it('recordDialed gives no call id to a job ended without one, even under its own token', async () => {
      const { store } = setup();
      const [gaveUp, endedFirst] = newJobs(2);
      await createRun(store, 'r-gave-up', [gaveUp!, endedFirst!]);
      await store.claimJob(gaveUp!.jobId, 'tok', 2000);
      await store.transition(
        { jobId: gaveUp!.jobId, lockToken: 'tok', status: 'failed', errorCode: 'X' },
        2001,
      );
      expect(await store.recordDialed(gaveUp!.jobId, 'tok', 'CA1', 2002)).toBe(false);
      // The call's own end, written before dial() answered, keeps the call id: not a conflict.
      await store.claimJob(endedFirst!.jobId, 'tok2', 2000);
      await store.transition(
        { jobId: endedFirst!.jobId, lockToken: 'tok2', callId: 'CA2', status: 'completed' },
        2001,
      );
      expect(await store.recordDialed(endedFirst!.jobId, 'tok2', 'CA2', 2002)).toBe(true);
    });

    it('claims after an end in one write with it, and tells when no end waits', async () => {
      const { store } = setup();
      if (!store.claimJobAfter) throw new Error('the store has no claimJobAfter');
      const [ended, next, again, stopped] = newJobs(4);
      await createRun(store, 'r-hand-off', [ended!, next!, again!]);
      await createRun(store, 'r-hand-off-stopped', [stopped!]);
      await store.setRunStatus('r-hand-off-stopped', ['running'], 'stopped', 1500);
      await store.claimJob(ended!.jobId, 'tok', 2000);
      const endOf = { jobId: ended!.jobId, lockToken: 'tok' };
      // No end of that job waits to be written: nothing is claimed.
      expect(await store.claimJobAfter(endOf, next!.jobId, 'tok-next', 2001)).toBe('apart');
      expect((await store.getJob(next!.jobId))?.status).toBe('queued');
      const [end, claimed, refused] = await Promise.all([
        store.transition(
          { jobId: ended!.jobId, lockToken: 'tok', status: 'completed', durationSec: 3 },
          2002,
        ),
        store.claimJobAfter(endOf, next!.jobId, 'tok-next', 2002),
        // A claim the store refuses (its run is stopped) leaves the end written.
        store.claimJobAfter(endOf, stopped!.jobId, 'tok-stopped', 2002),
      ]);
      expect(end?.status).toBe('completed');
      expect(claimed).toMatchObject({
        jobId: next!.jobId,
        lockToken: 'tok-next',
        attempt: 1,
        runId: 'r-hand-off',
      });
      expect(refused).toBeUndefined();
      expect((await store.getJob(ended!.jobId))?.status).toBe('completed');
      expect((await store.getJob(stopped!.jobId))?.status).toBe('queued');
      // An end that changes nothing (already written) still lets the claim after it through.
      const [same, third] = await Promise.all([
        store.transition({ jobId: ended!.jobId, lockToken: 'tok', status: 'completed' }, 2003),
        store.claimJobAfter(endOf, again!.jobId, 'tok-again', 2003),
      ]);
      expect(same).toBeUndefined();
      expect(third).toMatchObject({ jobId: again!.jobId, lockToken: 'tok-again' });
    });

    it('requeues a transient failure with a retry time and a fresh claim later', async () => {
      const { store } = setup();
      const [job] = newJobs(1);
      await createRun(store, 'r-retry', [job!]);
      await store.claimJob(job!.jobId, 'tok1', 2000);
      expect(
        await store.requeueJob(job!.jobId, 'tok1', 5000, { code: '20429', message: 'slow down' }, 2001),
      ).toBe(true);
      expect(await store.nextQueuedJobs('r-retry', 0, 10, 4000)).toEqual([]);
      expect(await store.nextRetryAt('r-retry', 4000)).toBe(5000);
      // Due already: the feeder's pass reads it, no wake-up is needed for it.
      expect(await store.nextRetryAt('r-retry', 5000)).toBeUndefined();
      expect(await store.nextQueuedJobs('r-retry', 0, 10, 5000)).toHaveLength(1);
      // A grant that comes before the retry time does not claim it (seed 1202 of issue 12).
      expect(await store.claimJob(job!.jobId, 'early', 4999)).toBeUndefined();
      expect((await store.claimJob(job!.jobId, 'tok2', 5001))?.attempt).toBe(2);
    });

    it('keeps a run’s window and its jobs’ zones, holds jobs back for their window, and counts why they wait', async () => {
      const { store, other } = setup();
      const jobs = newJobs(3).map((j, i) => ({
        ...j,
        timeZone: i === 0 ? 'America/New_York' : 'America/Adak&America/Anchorage',
      }));
      const window = { hours: [{ start: '09:00', end: '17:00' }], endMarginMs: 0 };
      await store.createRun(
        { runId: 'r-win', businessId: 'biz', concurrency: 3, total: 3, createdAt: 1000, window },
        jobs,
      );
      expect((await other.getRun('r-win'))?.window).toEqual(window);
      expect(await store.nextQueuedJobs('r-win', 0, 10, 2000, true)).toEqual(
        jobs.map((j) => ({ jobId: j.jobId, seq: j.seq, to: j.to, timeZone: j.timeZone })),
      );
      expect(await store.nextQueuedJobs('r-win', 0, 1, 2000)).toEqual([{ jobId: jobs[0]!.jobId, seq: 1 }]);
      // One claimed (not held back: it is no longer queued), two held back until their windows open.
      expect((await store.claimJob(jobs[0]!.jobId, 't', 2000))?.timeZone).toBe('America/New_York');
      await store.deferJobs(
        [
          { jobId: jobs[0]!.jobId, until: 9000 },
          { jobId: jobs[1]!.jobId, until: 9000 },
          { jobId: jobs[2]!.jobId, until: 8000 },
        ],
        2001,
      );
      expect(await other.countWaiting('r-win', 2002)).toEqual({ retry: 0, scheduled: 0, window: 2, cap: 0 });
      expect(await other.nextRetryAt('r-win', 2002)).toBe(8000);
      expect((await other.getJob(jobs[2]!.jobId))?.retryAt?.getTime()).toBe(8000);
      expect((await other.getJob(jobs[1]!.jobId))?.timeZone).toBe('America/Adak&America/Anchorage');
      expect(await store.nextQueuedJobs('r-win', 0, 10, 8000)).toEqual([{ jobId: jobs[2]!.jobId, seq: 3 }]);
      // A requeue of another cause is no longer counted as waiting for its window.
      expect(await store.requeueJob(jobs[0]!.jobId, 't', 9500, { code: 'X', message: 'x' }, 2003)).toBe(true);
      expect(await other.countWaiting('r-win', 2004)).toEqual({ retry: 1, scheduled: 0, window: 2, cap: 0 });
    });

    it('pages queued jobs in order and cancels the rest on stop', async () => {
      const { store } = setup();
      const jobs = newJobs(10);
      await createRun(store, 'r-page', jobs);
      const first = await store.nextQueuedJobs('r-page', 0, 4, 2000);
      expect(first.map((j) => j.seq)).toEqual([1, 2, 3, 4]);
      const next = await store.nextQueuedJobs('r-page', 4, 4, 2000);
      expect(next.map((j) => j.seq)).toEqual([5, 6, 7, 8]);
      await store.claimJob(jobs[0]!.jobId, 't', 2000);
      expect(await store.setRunStatus('r-page', ['running', 'paused'], 'stopped', 3000)).toBe(true);
      expect(await store.cancelQueuedJobs('r-page', 3000)).toBe(9);
      expect(await store.countUnfinished('r-page')).toBe(1);
      const page = await store.listJobs('r-page', { status: 'canceled', limit: 3, after: jobs[2]!.jobId });
      expect(page.map((j) => j.jobId)).toEqual([jobs[3]!.jobId, jobs[4]!.jobId, jobs[5]!.jobId]);
    });

    it('leases runs to one owner at a time and lets others adopt expired ones', async () => {
      const { store, other } = setup();
      await createRun(store, 'r-own', newJobs(1));
      const [a, b] = await Promise.all([
        store.leaseRuns('p1', 2000, 3000, 100),
        other.leaseRuns('p2', 2000, 3000, 100),
      ]);
      const owners = [a, b].map((runs) => runs.some((r) => r.runId === 'r-own'));
      expect(owners.filter(Boolean)).toHaveLength(1);
      const owner = owners[0] ? 'p1' : 'p2';
      const stranger = owner === 'p1' ? 'p2' : 'p1';
      expect((await store.leaseRuns(stranger, 2500, 3500, 100)).some((r) => r.runId === 'r-own')).toBe(false);
      expect((await store.leaseRuns(stranger, 3001, 4000, 100)).some((r) => r.runId === 'r-own')).toBe(true);
      await store.releaseRuns(stranger);
      expect((await store.leaseRuns(owner, 3002, 4000, 100)).some((r) => r.runId === 'r-own')).toBe(true);
    });

    it('finds live jobs by business and silent calls by age', async () => {
      const { store } = setup();
      const jobs = newJobs(3);
      await store.createRun(
        { runId: 'r-live', businessId: 'live-biz', concurrency: 3, total: 3, createdAt: 1000 },
        jobs,
      );
      await store.claimJob(jobs[0]!.jobId, 't0', 2000);
      await store.claimJob(jobs[1]!.jobId, 't1', 9000);
      const fenced = await store.fenceSlots('live-biz');
      expect(jobIdsOf(fenced)).toEqual([jobs[0]!.jobId, jobs[1]!.jobId].sort());
      const silent = await store.silentJobs(5000, 10);
      expect(silent.map((j) => j.jobId)).toContain(jobs[0]!.jobId);
      expect(silent.map((j) => j.jobId)).not.toContain(jobs[1]!.jobId);
    });

    it('raises the fencing token per business; a claim presenting a stale token fails', async () => {
      const { store, other } = setup();
      const jobs = newJobs(3);
      await createRun(store, 'r-fence', jobs);
      const first = await store.fenceSlots('biz');
      expect(first.holders).toEqual([]);
      // Every new token is above every token of the table: a scope's state is newer than any before.
      const elsewhere = (await other.fenceSlots('other-biz')).fence;
      expect(elsewhere).toBeGreaterThan(first.fence);
      expect(await store.claimJob(jobs[0]!.jobId, 't0', 2000, first.fence)).toBeDefined();
      const second = await other.fenceSlots('biz');
      expect(second).toMatchObject({ holders: [{ jobId: jobs[0]!.jobId, business: 'biz', run: 'r-fence' }] });
      expect(second.fence).toBeGreaterThan(elsewhere);
      expect(await store.claimJob(jobs[1]!.jobId, 't1', 2000, first.fence)).toBeUndefined();
      expect(await store.claimJob(jobs[1]!.jobId, 't1', 2000, second.fence)).toBeDefined();
      // Without a token (a limiter that never loses its state) the claim is not fenced.
      expect(await store.claimJob(jobs[2]!.jobId, 't2', 2000)).toBeDefined();
    });

    it('raises the token above a given one (a limiter state made with another database) and reads it', async () => {
      const { store, other } = setup();
      const jobs = newJobs(2);
      await store.createRun(
        { runId: 'r-fence-above', businessId: 'above-biz', concurrency: 3, total: 2, createdAt: 1000 },
        jobs,
      );
      expect(await store.slotFence('above-biz')).toBe(0);
      // No token yet: the first raise starts above the given one.
      expect((await store.fenceSlots('above-biz', 7)).fence).toBe(8);
      expect(await other.slotFence('above-biz')).toBe(8);
      // A foreign state's grant (token 12) is refused; the raise puts the token above it.
      expect(await store.claimJob(jobs[0]!.jobId, 't0', 2000, 12)).toBeUndefined();
      const above = await other.fenceSlots('above-biz', 12);
      expect(above).toMatchObject({ fence: 13, holders: [] });
      expect(await store.claimJob(jobs[0]!.jobId, 't0', 2000, 13)).toBeDefined();
      // A token already above the given one is raised by one, as without it.
      expect(await store.fenceSlots('above-biz', 5)).toMatchObject({
        fence: 14,
        holders: [{ jobId: jobs[0]!.jobId }],
      });
      expect(await store.slotFence('above-biz')).toBe(14);
      expect(await store.slotFence('no-such-biz')).toBe(0);
      await expect(store.fenceSlots('above-biz', -1)).rejects.toBeInstanceOf(ValidationError);
    });

    it('every claim that won with a token raised meanwhile is among the holders read by the raise', async () => {
      const { store, other } = setup();
      for (let round = 0; round < 5; round++) {
        const jobs = newJobs(40);
        await store.createRun(
          {
            runId: `r-fence-race-${round}`,
            businessId: `fb${round}`,
            concurrency: 3,
            total: 40,
            createdAt: 1000,
          },
          jobs,
        );
        const { fence } = await store.fenceSlots(`fb${round}`);
        const claims = jobs.map((job, i) =>
          (async () => {
            // Spread the claims around the raise: some before, some racing it, some after.
            await new Promise((resolve) => setTimeout(resolve, i % 8));
            return store.claimJob(job.jobId, `t-${job.jobId}`, 2000, fence);
          })(),
        );
        const raise = (async () => {
          await new Promise((resolve) => setTimeout(resolve, 3 + round));
          return other.fenceSlots(`fb${round}`);
        })();
        const [won, raised] = await Promise.all([Promise.all(claims), raise]);
        const winners = won.filter((c) => c !== undefined).map((c) => c.jobId);
        expect(raised.fence).toBe(fence + 1);
        for (const id of winners) expect(jobIdsOf(raised)).toContain(id);
        const counts = await store.countJobs(`r-fence-race-${round}`);
        expect(counts.dialing ?? 0).toBe(winners.length);
        expect(counts.queued ?? 0).toBe(40 - winners.length);
      }
    });

    it('counts claims whose call is not placed yet, and never requeues into a stopped run', async () => {
      const { store } = setup();
      const jobs = newJobs(3);
      await createRun(store, 'r-unplaced', jobs);
      await store.claimJob(jobs[0]!.jobId, 't0', 2000);
      await store.claimJob(jobs[1]!.jobId, 't1', 2000);
      await store.recordDialed(jobs[1]!.jobId, 't1', 'CA1', 2001);
      expect(await store.countUnplacedClaims('r-unplaced')).toBe(1);
      await store.setRunStatus('r-unplaced', ['running'], 'stopped', 2002);
      const error = { code: '20429', message: 'slow down' };
      expect(await store.requeueJob(jobs[0]!.jobId, 't0', 3000, error, 2003)).toBe(false);
      // Not put back: no attempt is kept apart from the job's own row.
      expect((await store.getJob(jobs[0]!.jobId))?.attempts?.map((a) => a.status)).toEqual(['dialing']);
    });

    it('keeps the attempt of a requeued claim, as queued with its error', async () => {
      const { store } = setup();
      const [job] = newJobs(1);
      await createRun(store, 'r-kept', [job!]);
      await store.claimJob(job!.jobId, 'tok1', 2000);
      await store.requeueJob(job!.jobId, 'tok1', 5000, { code: '20429', message: 'slow down' }, 2001);
      await store.claimJob(job!.jobId, 'tok2', 5001);
      const read = await store.getJob(job!.jobId);
      expect(read?.attempts).toEqual([
        {
          attempt: 1,
          status: 'queued',
          errorCode: '20429',
          errorMessage: 'slow down',
          startedAt: new Date(2000),
          endedAt: new Date(2001),
        },
        { attempt: 2, status: 'dialing', startedAt: new Date(5001) },
      ]);
    });

    it('puts a job back for a retry of its outcome, keeping the attempt, in one step', async () => {
      const { store, other } = setup();
      const jobs = newJobs(2);
      await createRun(store, 'r-outcome', jobs);
      const [a, b] = jobs.map((j) => j.jobId) as [string, string];
      await store.claimJob(a, 'ta', 2000);
      await store.recordDialed(a, 'ta', 'CA1', 2001);
      // Another call's event, or another token, changes nothing.
      expect(
        await store.retryJob({ jobId: a, lockToken: 'ta', callId: 'CA9', status: 'busy' }, 9000, 3000),
      ).toBe(undefined);
      expect(await store.retryJob({ jobId: a, lockToken: 'tx', status: 'busy' }, 9000, 3000)).toBeUndefined();
      const route = await store.retryJob(
        { jobId: a, callId: 'CA1', status: 'busy', durationSec: 0 },
        9000,
        3000,
      );
      expect(route).toMatchObject({ jobId: a, status: 'queued', attempt: 1 });
      expect(route?.lockToken).toBeUndefined();
      const waiting = await store.getJob(a);
      expect(waiting).toMatchObject({ status: 'queued', retryAt: new Date(9000) });
      expect(waiting?.callId).toBeUndefined();
      expect(waiting?.attempts).toEqual([
        {
          attempt: 1,
          status: 'busy',
          callId: 'CA1',
          durationSec: 0,
          startedAt: new Date(2000),
          endedAt: new Date(3000),
        },
      ]);
      // A late duplicate of the same end finds nothing to move.
      expect(await store.transition({ jobId: a, callId: 'CA1', status: 'busy' }, 3001)).toBeUndefined();
      expect(await store.nextQueuedJobs('r-outcome', 0, 10, 8999)).toEqual([
        expect.objectContaining({ jobId: b }),
      ]);
      expect((await store.nextQueuedJobs('r-outcome', 0, 10, 9000)).map((j) => j.jobId)).toEqual([a, b]);
      expect((await store.claimJob(a, 'ta2', 9001))?.attempt).toBe(2);
      // Of a retry and an end racing on one call, exactly one applies.
      await store.claimJob(b, 'tb', 2000);
      const [retried, ended] = await Promise.all([
        store.retryJob({ jobId: b, lockToken: 'tb', status: 'no_answer' }, 9000, 3000),
        other.transition({ jobId: b, lockToken: 'tb', status: 'completed' }, 3000),
      ]);
      expect([retried, ended].filter(Boolean)).toHaveLength(1);
      const kept = (await store.getJob(b))?.attempts ?? [];
      expect(kept).toHaveLength(1);
      expect(kept[0]?.status).toBe(retried ? 'no_answer' : 'completed');
    });

    it('does not put a job back for a retry once its run is stopped', async () => {
      const { store } = setup();
      const [job] = newJobs(1);
      await createRun(store, 'r-stopped-retry', [job!]);
      await store.claimJob(job!.jobId, 'tok', 2000);
      await store.setRunStatus('r-stopped-retry', ['running'], 'stopped', 2500);
      expect(await store.retryJob({ jobId: job!.jobId, lockToken: 'tok', status: 'busy' }, 9000, 3000)).toBe(
        undefined,
      );
      expect((await store.getJob(job!.jobId))?.attempts?.map((a) => a.status)).toEqual(['dialing']);
    });

    it("writes and reads back a run's retry rules", async () => {
      const { store } = setup();
      const retry = {
        busy: { maxAttempts: 3, delayMs: 60_000, backoff: 'exponential' as const, jitter: 0.2 },
      };
      await store.createRun(
        { runId: 'r-rules', businessId: 'biz', concurrency: 1, total: 1, createdAt: 1, retry },
        newJobs(1),
      );
      expect((await store.getRun('r-rules'))?.retry).toEqual(retry);
    });

    it('tells which of a list of jobs hold no call: ended, or back in line', async () => {
      const { store } = setup();
      const jobs = newJobs(3);
      await createRun(store, 'r-ended', jobs);
      await store.claimJob(jobs[0]!.jobId, 't0', 2000);
      await store.transition({ jobId: jobs[0]!.jobId, lockToken: 't0', status: 'busy' }, 2001);
      await store.claimJob(jobs[1]!.jobId, 't1', 2000);
      const ids = [...jobs.map((j) => j.jobId), 'gone'];
      const offCall = await store.jobsOffCall(ids);
      expect(offCall.ended.sort()).toEqual([jobs[0]!.jobId, 'gone'].sort());
      expect(offCall.queued).toEqual([jobs[2]!.jobId]);
    });

    it('lists runs newest first, by business and status, paged by run id', async () => {
      const { store } = setup();
      const runs = [
        { runId: 'l-a1', businessId: 'la', createdAt: 10 },
        { runId: 'l-b1', businessId: 'lb', createdAt: 20 },
        { runId: 'l-a2', businessId: 'la', createdAt: 30 },
        { runId: 'l-a3', businessId: 'la', createdAt: 30 },
      ];
      for (const run of runs) {
        await store.createRun(
          { ...run, concurrency: 1, total: 2, inputDigest: `d-${run.runId}` },
          newJobs(2),
        );
      }
      await store.setRunStatus('l-a1', ['running'], 'stopped', 40);
      const ids = (page: { runId: string }[]) => page.map((r) => r.runId);
      expect(ids(await store.listRuns({ limit: 10 }))).toEqual(['l-a3', 'l-a2', 'l-b1', 'l-a1']);
      const first = await store.listRuns({ businessId: 'la', limit: 2 });
      expect(ids(first)).toEqual(['l-a3', 'l-a2']);
      expect(first[0]?.inputDigest).toBe('d-l-a3');
      expect(ids(await store.listRuns({ businessId: 'la', limit: 2, after: 'l-a2' }))).toEqual(['l-a1']);
      expect(ids(await store.listRuns({ statuses: ['stopped'], limit: 10 }))).toEqual(['l-a1']);
      expect(ids(await store.listRuns({ limit: 10, after: 'no-such-run' }))).toEqual([]);
      const counts = await store.countJobsByRun(['l-a1', 'l-b1', 'no-such-run']);
      expect(counts.get('l-b1')).toEqual({ queued: 2 });
      expect(counts.get('l-a1')).toEqual({ queued: 2 });
      expect(counts.has('no-such-run')).toBe(false);
      const [job] = await store.listJobs('l-b1', { limit: 1 });
      expect(await store.getJob(job!.jobId)).toEqual({ ...job, attempts: [] });
      expect(await store.getJob('no-such-job')).toBeUndefined();
    });

    it('writes a 100,000-lead run in batches', async () => {
      const { store } = setup();
      function* many(): Generator<NewJob> {
        for (let i = 0; i < 100_000; i++)
          yield { jobId: `big-${i}`, seq: i + 1, to: '+14155550101', metadata: {} };
      }
      const { created } = await store.createRun(
        { runId: 'r-big', businessId: 'big', concurrency: 5, total: 100_000, createdAt: 1000 },
        many(),
      );
      expect(created).toBe(true);
      expect((await store.countJobs('r-big')).queued).toBe(100_000);
    });

    businessLimitsContract(setup);
    businessLoadsContract(setup);
    retentionContract(setup);
  });
}
