import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { businessScope, groupScope } from '../../src/limiter/limiter-scope.js';
import type { JobStore, NewJob } from '../../src/store/job-store.js';
import type { StoreUnderTest } from './job-store.contract.js';

const NO_LIMITS = { concurrency: null, dialsPerSecond: null } as const;

/**
 * Writes a run of `n` jobs for `businessId` and claims the first `claimed` of them.
 * @returns the jobs' ids, in order
 */
async function runWithHolders(
  store: JobStore,
  run: { runId: string; businessId: string; concurrency?: number; priority?: number },
  n: number,
  claimed: number,
): Promise<string[]> {
  const jobs: NewJob[] = Array.from({ length: n }, (_, i) => ({
    jobId: `${run.runId}-j${i}`,
    seq: i + 1,
    to: '+14155550101',
    metadata: {},
  }));
  await store.createRun({ concurrency: 3, ...run, total: n, createdAt: 1000 }, jobs);
  for (const job of jobs.slice(0, claimed))
    expect(await store.claimJob(job.jobId, `t-${job.jobId}`, 2000)).toBeDefined();
  return jobs.map((job) => job.jobId);
}

/**
 * The contract of a {@link JobStore}'s limits of businesses, groups and runs, and of its fences
 * of limiter scopes; run inside `jobStoreContract` (its `beforeEach` empties the store).
 * @param setup - gives the store under test
 */
export function businessLimitsContract(setup: () => StoreUnderTest) {
  describe('limits of businesses, groups and runs', () => {
    it('keeps a business’s limits, group and pause apart: each write keeps the others', async () => {
      const { store, other } = setup();
      expect(await store.getBusiness('bl-a')).toBeUndefined();
      await store.setBusinessPaused('bl-a', true, 100);
      expect(await other.getBusiness('bl-a')).toEqual({
        businessId: 'bl-a',
        ...NO_LIMITS,
        group: null,
        paused: true,
        updatedAt: 100,
      });
      const limits = { concurrency: 4, dialsPerSecond: 0.1, group: 'g-bl' };
      expect(await store.putBusinessLimits('bl-a', limits, 200)).toEqual({ previousGroup: null });
      expect(await other.getBusiness('bl-a')).toEqual({
        businessId: 'bl-a',
        ...limits,
        paused: true,
        updatedAt: 200,
      });
      await other.setBusinessPaused('bl-a', false, 300);
      expect(await store.getBusiness('bl-a')).toEqual({
        businessId: 'bl-a',
        ...limits,
        paused: false,
        updatedAt: 300,
      });
      // A business's first record may come from its limits too (then it is not paused).
      expect(
        await store.putBusinessLimits('bl-0', { ...NO_LIMITS, dialsPerSecond: 2.25, group: 'g-bl' }, 400),
      ).toEqual({
        previousGroup: null,
      });
      expect(await store.getBusiness('bl-0')).toMatchObject({
        dialsPerSecond: 2.25,
        paused: false,
        group: 'g-bl',
      });
      expect(await other.listGroupMembers('g-bl')).toEqual(['bl-0', 'bl-a']);
      expect(await store.putBusinessLimits('bl-a', { ...limits, group: null }, 500)).toEqual({
        previousGroup: 'g-bl',
      });
      expect(await store.listGroupMembers('g-bl')).toEqual(['bl-0']);
      expect(await store.listGroupMembers('no-such-group')).toEqual([]);
    });

    it('keeps a group’s limits', async () => {
      const { store, other } = setup();
      expect(await store.getGroup('g-lim')).toBeUndefined();
      await store.putGroupLimits('g-lim', { concurrency: 10, dialsPerSecond: 0.5 }, 100);
      expect(await other.getGroup('g-lim')).toEqual({
        group: 'g-lim',
        concurrency: 10,
        dialsPerSecond: 0.5,
        updatedAt: 100,
      });
      await other.putGroupLimits('g-lim', NO_LIMITS, 200);
      expect(await store.getGroup('g-lim')).toEqual({ group: 'g-lim', ...NO_LIMITS, updatedAt: 200 });
    });

    it('keeps a run’s weight (1 unless given) and changes its limits', async () => {
      const { store, other } = setup();
      await runWithHolders(store, { runId: 'rl-1', businessId: 'rl-biz', priority: 3 }, 1, 0);
      await runWithHolders(store, { runId: 'rl-2', businessId: 'rl-biz' }, 1, 0);
      expect((await other.getRun('rl-1'))?.priority).toBe(3);
      expect((await other.getRun('rl-2'))?.priority).toBe(1);
      expect(
        (await store.listRuns({ businessId: 'rl-biz', limit: 10 })).map((r) => r.priority).sort(),
      ).toEqual([1, 3]);
      expect(await store.setRunLimits('rl-1', { concurrency: 7 }, 3000)).toMatchObject({
        runId: 'rl-1',
        concurrency: 7,
        priority: 3,
      });
      expect(await other.setRunLimits('rl-1', { priority: 2 }, 3001)).toMatchObject({
        concurrency: 7,
        priority: 2,
      });
      expect(await store.setRunLimits('rl-2', { concurrency: 9, priority: 5 }, 3002)).toMatchObject({
        concurrency: 9,
        priority: 5,
      });
      expect(await store.getRun('rl-2')).toMatchObject({ concurrency: 9, priority: 5, status: 'running' });
      expect(await store.setRunLimits('no-such-run', { priority: 2 }, 3003)).toBeUndefined();
    });

    it('refuses limits that are not whole numbers >= 1 or positive rates, and bad group names', async () => {
      const { store } = setup();
      const bad = [
        store.putBusinessLimits('bv', { concurrency: 0, dialsPerSecond: null, group: null }, 1),
        store.putBusinessLimits('bv', { concurrency: 1.5, dialsPerSecond: null, group: null }, 1),
        store.putBusinessLimits('bv', { concurrency: null, dialsPerSecond: 0, group: null }, 1),
        store.putBusinessLimits('bv', { concurrency: null, dialsPerSecond: Number.NaN, group: null }, 1),
        store.putBusinessLimits('bv', { concurrency: null, dialsPerSecond: null, group: '' }, 1),
        store.putBusinessLimits('bv', { concurrency: null, dialsPerSecond: null, group: 'a\u0000b' }, 1),
        store.putGroupLimits('gv', { concurrency: -1, dialsPerSecond: null }, 1),
        store.putGroupLimits('', NO_LIMITS, 1),
        store.setRunLimits('rv', { priority: 0 }, 1),
        store.setRunLimits('rv', { concurrency: 2.5 }, 1),
      ];
      for (const write of bad) await expect(write).rejects.toBeInstanceOf(ValidationError);
      expect(await store.getBusiness('bv')).toBeUndefined();
      expect(await store.getGroup('gv')).toBeUndefined();
    });
  });

  describe('fences of limiter scopes', () => {
    it('fences a business’s own scope: its limit, its holders with their runs, the runs’ limits and weights', async () => {
      const { store, other } = setup();
      const a = await runWithHolders(
        store,
        { runId: 'fs-r1', businessId: 'fs-biz', concurrency: 3, priority: 2 },
        3,
        2,
      );
      const b = await runWithHolders(store, { runId: 'fs-r2', businessId: 'fs-biz', concurrency: 5 }, 2, 1);
      await runWithHolders(store, { runId: 'fs-r3', businessId: 'fs-biz' }, 2, 0);
      await runWithHolders(store, { runId: 'fs-else', businessId: 'fs-other' }, 1, 1);
      // A limit without a change of group raises no token.
      await store.putBusinessLimits('fs-biz', { concurrency: 6, dialsPerSecond: null, group: null }, 1500);
      expect(await store.slotFence('fs-biz')).toBe(0);
      expect(await other.fenceSlots(businessScope('fs-biz'))).toEqual({
        fence: 1,
        holders: [
          { jobId: a[0], business: 'fs-biz', run: 'fs-r1' },
          { jobId: a[1], business: 'fs-biz', run: 'fs-r1' },
          { jobId: b[0], business: 'fs-biz', run: 'fs-r2' },
        ],
        members: [{ business: 'fs-biz', limit: 6 }],
        // The holders' runs and every live run of the member (fs-r3 holds nothing).
        runs: [
          { run: 'fs-r1', business: 'fs-biz', limit: 3, priority: 2 },
          { run: 'fs-r2', business: 'fs-biz', limit: 5, priority: 1 },
          expect.objectContaining({ run: 'fs-r3', business: 'fs-biz', priority: 1 }),
        ],
        groupLimit: null,
      });
      expect(await store.slotFence('fs-biz')).toBe(1);
      const raised = (await store.fenceSlots('fs-biz', 10)).fence;
      expect(raised).toBeGreaterThan(10);
      expect(await other.slotFence('fs-biz')).toBe(raised);
      expect(await store.slotFence('fs-other')).toBe(0);
      // A business without a record is its own scope's member, fenced all the same.
      const none = await store.fenceSlots('fs-none', 4);
      expect(none).toEqual({
        fence: expect.any(Number),
        holders: [],
        members: [{ business: 'fs-none', limit: null }],
        runs: [],
        groupLimit: null,
      });
      // Above every token of the table, not only the members'.
      expect(none.fence).toBeGreaterThan(raised);
      expect(await store.slotFence('fs-none')).toBe(none.fence);
    });

    it('fences a group’s scope for every member, above the highest member’s token', async () => {
      const { store, other } = setup();
      const a = await runWithHolders(
        store,
        { runId: 'fg-ra', businessId: 'fg-a', concurrency: 4, priority: 3 },
        2,
        1,
      );
      const b = await runWithHolders(store, { runId: 'fg-rb', businessId: 'fg-b', concurrency: 2 }, 3, 2);
      await runWithHolders(store, { runId: 'fg-rc', businessId: 'fg-c' }, 1, 1);
      for (let i = 0; i < 3; i++) await store.fenceSlots('fg-a');
      expect(
        await store.putBusinessLimits('fg-a', { concurrency: 2, dialsPerSecond: null, group: 'fg' }, 1500),
      ).toEqual({
        previousGroup: null,
      });
      expect(await store.slotFence('fg-a')).toBe(4);
      await other.putBusinessLimits('fg-b', { ...NO_LIMITS, group: 'fg' }, 1500);
      expect(await store.slotFence('fg-b')).toBe(1);
      await store.putGroupLimits('fg', { concurrency: 5, dialsPerSecond: 1 }, 1500);
      const fenced = await other.fenceSlots(groupScope('fg'));
      expect(fenced).toEqual({
        fence: expect.any(Number),
        holders: [
          { jobId: a[0], business: 'fg-a', run: 'fg-ra' },
          { jobId: b[0], business: 'fg-b', run: 'fg-rb' },
          { jobId: b[1], business: 'fg-b', run: 'fg-rb' },
        ],
        members: [
          { business: 'fg-a', limit: 2 },
          { business: 'fg-b', limit: null },
        ],
        runs: [
          { run: 'fg-ra', business: 'fg-a', limit: 4, priority: 3 },
          { run: 'fg-rb', business: 'fg-b', limit: 2, priority: 1 },
        ],
        groupLimit: 5,
      });
      expect([
        await store.slotFence('fg-a'),
        await store.slotFence('fg-b'),
        await store.slotFence('fg-c'),
      ]).toEqual([fenced.fence, fenced.fence, 0]);
      expect(fenced.fence).toBeGreaterThan(4);
      // A claim of any member's job is fenced by the scope's token.
      expect(await store.claimJob(a[1]!, 'late-a', 2000, 4)).toBeUndefined();
      expect(await store.claimJob(a[1]!, 'late-a', 2000, fenced.fence)).toBeDefined();
      expect(await store.claimJob(b[2]!, 'late-b', 2000, fenced.fence)).toBeDefined();
      const again = (await store.fenceSlots(groupScope('fg'), 20)).fence;
      expect(again).toBeGreaterThan(20);
      expect([await other.slotFence('fg-a'), await other.slotFence('fg-b')]).toEqual([again, again]);
      // A business in a group has no members in its own scope: nothing is written for it.
      const own = await other.fenceSlots(businessScope('fg-a'), 30);
      expect(own).toEqual({
        fence: expect.any(Number),
        holders: [],
        members: [],
        runs: [],
        groupLimit: null,
      });
      expect(own.fence).toBeGreaterThan(30);
      expect(await store.slotFence('fg-a')).toBe(again);
      // A scope without members is fenced above every token written too (its state in a limiter
      // may have been made when it had some); a token raised for no member is written nowhere.
      const empty = await store.fenceSlots(groupScope('fg-none'));
      expect(empty.fence).toBeGreaterThan(again);
      expect(empty).toEqual({
        fence: empty.fence,
        holders: [],
        members: [],
        runs: [],
        groupLimit: null,
      });
      await store.putGroupLimits('fg-empty', { concurrency: 3, dialsPerSecond: null }, 1500);
      expect(await store.fenceSlots(groupScope('fg-empty'), 2)).toEqual({
        fence: empty.fence,
        holders: [],
        members: [],
        runs: [],
        groupLimit: 3,
      });
    });

    it('a change of group raises the business’s token: a grant of the scope it left is not claimed', async () => {
      const { store, other } = setup();
      const jobs = await runWithHolders(store, { runId: 'mv-r', businessId: 'mv-biz' }, 5, 0);
      const own = await store.fenceSlots(businessScope('mv-biz'));
      expect(await store.claimJob(jobs[0]!, 't0', 2000, own.fence)).toBeDefined();
      expect(await other.putBusinessLimits('mv-biz', { ...NO_LIMITS, group: 'mv-g' }, 2100)).toEqual({
        previousGroup: null,
      });
      expect(await store.slotFence('mv-biz')).toBe(own.fence + 1);
      expect(await store.claimJob(jobs[1]!, 't1', 2200, own.fence)).toBeUndefined();
      // Limits changed within the same group raise nothing.
      expect(
        await store.putBusinessLimits(
          'mv-biz',
          { concurrency: 3, dialsPerSecond: null, group: 'mv-g' },
          2300,
        ),
      ).toEqual({ previousGroup: 'mv-g' });
      expect(await store.slotFence('mv-biz')).toBe(own.fence + 1);
      const group = await other.fenceSlots(groupScope('mv-g'));
      expect(group.fence).toBeGreaterThan(own.fence + 1);
      expect(group).toMatchObject({
        holders: [{ jobId: jobs[0], business: 'mv-biz', run: 'mv-r' }],
        members: [{ business: 'mv-biz', limit: 3 }],
      });
      expect(await store.claimJob(jobs[1]!, 't1', 2400, group.fence)).toBeDefined();
      // To another group, then out of groups: each move fails the grants of the scope left.
      expect(await store.putBusinessLimits('mv-biz', { ...NO_LIMITS, group: 'mv-h' }, 2500)).toEqual({
        previousGroup: 'mv-g',
      });
      expect(await store.claimJob(jobs[2]!, 't2', 2600, group.fence)).toBeUndefined();
      expect((await store.fenceSlots(groupScope('mv-g'))).members).toEqual([]);
      const moved = await store.fenceSlots(groupScope('mv-h'));
      expect(moved.fence).toBeGreaterThan(group.fence);
      expect(await store.putBusinessLimits('mv-biz', { ...NO_LIMITS, group: null }, 2700)).toEqual({
        previousGroup: 'mv-h',
      });
      expect(await store.claimJob(jobs[2]!, 't2', 2800, moved.fence)).toBeUndefined();
      const back = await other.fenceSlots('mv-biz');
      expect(back).toMatchObject({ fence: moved.fence + 2, members: [{ business: 'mv-biz', limit: null }] });
      expect(back.holders.map((holder) => holder.jobId).sort()).toEqual([jobs[0], jobs[1]].sort());
      expect(await store.claimJob(jobs[2]!, 't2', 2900, back.fence)).toBeDefined();
    });

    it('a fence of a business’s scope racing its move into a group never leaves the fence claimable', async () => {
      const { store, other } = setup();
      for (let round = 0; round < 24; round++) {
        const business = `race-biz-${round}`;
        // Half of them have a record (no group) before the race, half none.
        if (round % 2 === 0) await store.setBusinessPaused(business, false, 1);
        const [fenced] = await Promise.all([
          (async () => {
            await new Promise((resolve) => setTimeout(resolve, round % 3));
            return store.fenceSlots(businessScope(business));
          })(),
          (async () => {
            await new Promise((resolve) => setTimeout(resolve, (round + 1) % 3));
            return other.putBusinessLimits(business, { ...NO_LIMITS, group: `race-g-${round}` }, 2);
          })(),
        ]);
        // Fenced before the move: the move raised the token past it. After: the scope was empty.
        if (fenced.members.length > 0) expect(await store.slotFence(business)).toBeGreaterThan(fenced.fence);
        const group = await other.fenceSlots(groupScope(`race-g-${round}`));
        expect(group.members).toEqual([{ business, limit: null }]);
        expect(await store.slotFence(business)).toBe(group.fence);
      }
    });
  });
}
