import { expect, it } from 'vitest';
import { ScopeMovedError } from '../../src/errors.js';
import { groupScope } from '../../src/limiter/limiter-scope.js';
import type { SlotHolder, SlotHolders, SlotLimiter } from '../../src/limiter/slot-limiter.js';
import { ask, countdown, type LimiterUnderTest, LONG, type Timed } from './limiter-test-helpers.js';

/** Selects the jobs of one run by their first letter. */
const from = (letter: string) => (job: string) => job.startsWith(letter);

/** Releases each job in turn and collects what each release promoted. */
async function releaseInTurn(
  limiter: SlotLimiter,
  key: string,
  first: string,
  count: number,
): Promise<string[]> {
  const order: string[] = [];
  let next: string | undefined = first;
  for (let i = 0; i < count && next !== undefined; i++) {
    const { promoted } = await limiter.release(key, next);
    order.push(...promoted);
    next = promoted[0];
  }
  return order;
}

/**
 * How every `SlotLimiter` shares slots between the runs of a business and the businesses of a
 * group, and changes limits live (part of `slotLimiterContract`).
 * @param make - makes a fresh limiter, closed after the test
 * @param timed - registers a test that needs the backend's clock
 */
export function sharingContract(make: () => Promise<LimiterUnderTest>, timed: Timed): void {
  it('caps each run at its own limit within its business', async () => {
    const { limiter } = await make();
    expect(await limiter.acquireMany('b', ['a1', 'a2'], ask('r1', 1), LONG)).toMatchObject({
      statuses: ['acquired', 'enqueued'],
      active: 1,
      limit: 1,
      runActive: 1,
      runLimit: 1,
      queueLength: 1,
    });
    // r2 raises the business's limit to 2, but r1's waiting job stays capped by r1's limit.
    expect(await limiter.acquireMany('b', ['b1', 'b2', 'b3'], ask('r2', 2), LONG)).toMatchObject({
      statuses: ['acquired', 'enqueued', 'enqueued'],
      active: 2,
      limit: 2,
      runActive: 1,
      runLimit: 2,
      queueLength: 2,
    });
    // A slot freed in r1 goes to r1's head: it was served once, r2 twice.
    expect(await limiter.release('b', 'a1')).toMatchObject({
      promoted: ['a2'],
      runActive: 1,
      queueLength: 0,
    });
    expect(await limiter.release('b', 'b1')).toMatchObject({
      promoted: ['b2'],
      runActive: 1,
      queueLength: 1,
    });
  });

  it("holds a business without a limit of its own to its runs' highest limit; a newcomer never jumps the line", async () => {
    const made = await make();
    const { limiter } = made;
    const heard = countdown<unknown>(1);
    limiter.subscribe(heard.listener);
    await made.whenSubscribed?.();
    await limiter.acquireMany('b', ['a1', 'a2'], ask('r1', 2), LONG);
    expect(await limiter.acquire('b', 'b1', ask('r2', 2), LONG)).toMatchObject({
      status: 'enqueued',
      active: 2,
      limit: 2,
      runActive: 0,
    });
    // r3 raises the limit to 3: the free slot goes to b1, which waited, not to r3's newcomer.
    expect(await limiter.acquire('b', 'c1', ask('r3', 3), LONG)).toMatchObject({
      status: 'enqueued',
      promoted: ['b1'],
      active: 3,
      limit: 3,
      runActive: 0,
      queueLength: 1,
    });
    expect(await heard.done).toEqual([{ key: 'b', promoted: ['b1'] }]);
    expect((await limiter.acquire('b', 'b1', ask('r2', 2), LONG)).status).toBe('inflight');
  });

  it("changes a business's limit live: a raise promotes at once, a lowering only holds promotions back", async () => {
    const made = await make();
    const { limiter } = made;
    expect(
      (await limiter.acquireMany('b', ['j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'j7', 'j8'], ask('r1', 5), LONG))
        .statuses,
    ).toEqual([...Array(5).fill('acquired'), ...Array(3).fill('enqueued')]);
    expect((await limiter.setLimits('b', { business: { id: 'b', limit: 2 } })).promoted).toEqual([]);
    expect(await limiter.release('b', 'j1')).toMatchObject({
      released: true,
      promoted: [],
      active: 4,
      limit: 2,
    });
    expect((await limiter.release('b', 'j2')).promoted).toEqual([]);
    expect((await limiter.release('b', 'j3')).promoted).toEqual([]);
    expect(await limiter.release('b', 'j4')).toMatchObject({ promoted: ['j6'], active: 2, limit: 2 });
    const heard = countdown<unknown>(1);
    limiter.subscribe(heard.listener);
    await made.whenSubscribed?.();
    expect((await limiter.setLimits('b', { business: { id: 'b', limit: 4 } })).promoted).toEqual([
      'j7',
      'j8',
    ]);
    expect(await heard.done).toEqual([{ key: 'b', promoted: ['j7', 'j8'] }]);
    // Cleared: the run's limit (5) applies again.
    await limiter.setLimits('b', { business: { id: 'b', limit: null } });
    expect(await limiter.acquire('b', 'j9', ask('r1', 5), LONG)).toMatchObject({
      status: 'acquired',
      active: 5,
      limit: 5,
    });
  });

  it("holds a group's businesses to the group's limit together", async () => {
    const { limiter } = await make();
    const g = groupScope('twilio-main');
    expect((await limiter.setLimits(g, { group: 3 })).promoted).toEqual([]);
    expect(await limiter.acquireMany(g, ['x1', 'x2'], ask('rx', 3, 'x'), LONG)).toMatchObject({
      statuses: ['acquired', 'acquired'],
      active: 2,
      groupActive: 2,
      groupLimit: 3,
    });
    expect(await limiter.acquireMany(g, ['y1', 'y2'], ask('ry', 3, 'y'), LONG)).toMatchObject({
      statuses: ['acquired', 'enqueued'],
      active: 1,
      limit: 3,
      groupActive: 3,
      groupLimit: 3,
      queueLength: 1,
    });
    // A slot freed by one business goes to another's waiting job.
    expect(await limiter.release(g, 'x1')).toMatchObject({ promoted: ['y2'], active: 1, groupActive: 3 });
    // Without a group limit the businesses are held to their own only.
    await limiter.setLimits(g, { group: null });
    const levels = await limiter.acquire(g, 'x3', ask('rx', 3, 'x'), LONG);
    expect(levels).toMatchObject({ status: 'acquired', active: 2 });
    expect(levels.groupLimit).toBeUndefined();
    // The group's scope is its own: the business's own scope is another one.
    expect((await limiter.acquire('x', 'x1', ask('rx', 1, 'x'), LONG)).status).toBe('acquired');
  });

  it('takes turns between the runs of a business, and gives a run of weight 2 two turns per one', async () => {
    const { limiter } = await make();
    await limiter.setLimits('b', { business: { id: 'b', limit: 1 } });
    await limiter.acquireMany('b', ['a1', 'a2', 'a3', 'a4'], ask('r1', 5), LONG);
    await limiter.acquireMany('b', ['b1', 'b2', 'b3', 'b4'], ask('r2', 5), LONG);
    const even = await releaseInTurn(limiter, 'b', 'a1', 7);
    expect(even.filter(from('a'))).toEqual(['a2', 'a3', 'a4']);
    expect(even.filter(from('b'))).toEqual(['b1', 'b2', 'b3', 'b4']);
    // While both wait, neither is served twice in a row.
    for (let i = 0; i + 1 < 6; i++) expect(even[i]?.[0], even.join()).not.toBe(even[i + 1]?.[0]);

    await limiter.setLimits('w', { business: { id: 'w', limit: 1 } });
    const heavy = Array.from({ length: 9 }, (_, i) => `a${i + 1}`);
    await limiter.acquireMany('w', heavy, ask('heavy', 5, 'w', 2), LONG);
    await limiter.acquireMany('w', ['b1', 'b2', 'b3', 'b4', 'b5'], ask('light', 5, 'w'), LONG);
    const weighted = await releaseInTurn(limiter, 'w', 'a1', 12);
    expect(weighted.filter(from('a'))).toEqual(heavy.slice(1));
    // Every three turns while both wait: two for the run of weight 2, one for the other.
    for (let i = 0; i < 12; i += 3)
      expect(weighted.slice(i, i + 3).filter(from('b')), weighted.join()).toHaveLength(1);
  });

  it("takes turns between a group's businesses: none waits while another is served twice", async () => {
    const { limiter } = await make();
    const g = groupScope('g');
    await limiter.setLimits(g, { group: 1 });
    await limiter.acquireMany(g, ['x1', 'x2', 'x3', 'x4', 'x5'], ask('rx', 5, 'x'), LONG);
    await limiter.acquireMany(g, ['y1', 'y2'], ask('ry', 5, 'y'), LONG);
    await limiter.acquireMany(g, ['z1', 'z2'], ask('rz', 5, 'z'), LONG);
    const order = await releaseInTurn(limiter, g, 'x1', 8);
    // Three turns each while all three wait, one each per three; then x alone.
    for (let i = 0; i < 6; i += 3)
      expect(new Set(order.slice(i, i + 3).map((job) => job[0])), order.join()).toEqual(
        new Set(['x', 'y', 'z']),
      );
    expect(order.filter(from('x'))).toEqual(['x2', 'x3', 'x4', 'x5']);
    expect(order.slice(6)).toEqual(['x4', 'x5']);
  });

  it("changes a run's limit live, and keeps it over a stale ask", async () => {
    const { limiter } = await make();
    await limiter.acquireMany('b', ['j1', 'j2', 'j3'], ask('r1', 1), LONG);
    expect((await limiter.setLimits('b', { run: { id: 'r1', business: 'b', limit: 3 } })).promoted).toEqual([
      'j2',
      'j3',
    ]);
    expect(await limiter.acquire('b', 'j4', ask('r1', 1), LONG)).toMatchObject({
      status: 'enqueued',
      runActive: 3,
      runLimit: 3,
      limit: 3,
    });
    expect((await limiter.setLimits('b', { run: { id: 'r1', business: 'b', limit: 1 } })).promoted).toEqual(
      [],
    );
    expect((await limiter.release('b', 'j1')).promoted).toEqual([]);
    expect((await limiter.release('b', 'j2')).promoted).toEqual([]);
    expect(await limiter.release('b', 'j3')).toMatchObject({ promoted: ['j4'], runActive: 1, runLimit: 1 });
    // A run set before any ask: its first ask keeps the limit set.
    expect(
      (await limiter.setLimits('b', { run: { id: 'r2', business: 'b', limit: 2, priority: 2 } })).promoted,
    ).toEqual([]);
    expect(await limiter.acquire('b', 'k1', ask('r2', 9), LONG)).toMatchObject({
      status: 'acquired',
      runLimit: 2,
      limit: 2,
    });
  });

  it('rebuilds a scope from the database: members, limits and holders; lines emptied', async () => {
    const { limiter } = await make();
    await limiter.acquireMany('b', ['j1', 'j2'], ask('r1', 1), LONG);
    const holders: SlotHolder[] = [
      { jobId: 'h1', business: 'b', run: 'r1' },
      { jobId: 'h2', business: 'b', run: 'r2' },
    ];
    const state: SlotHolders = {
      fence: 1,
      holders,
      members: [{ business: 'b', limit: 2 }],
      runs: [{ run: 'r1', business: 'b', limit: 1 }],
      groupLimit: null,
    };
    await limiter.rebuild('b', state, LONG);
    expect((await limiter.acquire('b', 'h1', ask('r1', 5), LONG)).status).toBe('inflight');
    expect(await limiter.acquire('b', 'j1', ask('r1', 5), LONG)).toMatchObject({
      status: 'enqueued',
      active: 2,
      limit: 2,
      runActive: 1,
      runLimit: 1,
      queueLength: 1,
    });
    expect((await limiter.acquire('b', 'j2', ask('r1', 5), LONG)).status).toBe('enqueued');
    // r1 is full: h2's slot (of r2) is not r1's to take.
    expect((await limiter.release('b', 'h2')).promoted).toEqual([]);
    expect((await limiter.release('b', 'h1')).promoted).toEqual(['j1']);
    // A newer read replaces the state, with or without ifNewer.
    await limiter.rebuild('b', { ...state, fence: 2, holders: [], groupLimit: 1 }, LONG, { ifNewer: true });
    expect(await limiter.acquire('b', 'j9', ask('r1', 2), LONG)).toMatchObject({
      status: 'acquired',
      active: 1,
      runLimit: 1,
      queueLength: 0,
      groupActive: 1,
      groupLimit: 1,
    });
    expect((await limiter.acquire('b', 'j8', ask('r9', 1), LONG)).status).toBe('enqueued');
    // A holder's run the database gave no limit of takes its next ask's; a job listed twice holds one slot.
    const p1: SlotHolder = { jobId: 'p1', business: 'p', run: 'r1' };
    await limiter.rebuild(
      'p',
      { fence: 1, holders: [p1, p1], members: [], runs: [], groupLimit: null },
      LONG,
    );
    expect(await limiter.acquire('p', 'p2', ask('r1', 3, 'p'), LONG)).toMatchObject({
      status: 'acquired',
      active: 2,
      limit: 3,
      runActive: 2,
      runLimit: 3,
    });
  });

  it('refuses a business the database does not list in the scope, and admits one that joined', async () => {
    const { limiter } = await make();
    const g = groupScope('g');
    const members = ['x'];
    const held: SlotHolder[] = [];
    let fence = 0;
    limiter.setHolderSource(async () => ({
      fence: ++fence,
      holders: [...held],
      members: members.map((business) => ({ business, limit: null })),
      runs: [],
      groupLimit: 2,
    }));
    expect(await limiter.acquire(g, 'x1', ask('rx', 2, 'x'), LONG)).toMatchObject({
      status: 'acquired',
      groupLimit: 2,
    });
    held.push({ jobId: 'x1', business: 'x', run: 'rx' });
    await expect(limiter.acquire(g, 'y1', ask('ry', 2, 'y'), LONG)).rejects.toBeInstanceOf(ScopeMovedError);
    await expect(limiter.setLimits(g, { business: { id: 'y', limit: 1 } })).rejects.toThrow(/business y/);
    // y joins the group: the scope is read again, with x1 still holding its slot.
    members.push('y');
    expect(await limiter.acquire(g, 'y1', ask('ry', 2, 'y'), LONG)).toMatchObject({
      status: 'acquired',
      active: 1,
      groupActive: 2,
      groupLimit: 2,
    });
    expect((await limiter.acquire(g, 'x1', ask('rx', 2, 'x'), LONG)).status).toBe('inflight');
    expect((await limiter.setLimits(g, { business: { id: 'y', limit: 1 } })).promoted).toEqual([]);
  });

  timed('reserves one dial start under several rates at once', async () => {
    const { limiter } = await make();
    const both = [
      { name: 'business', perSecond: 5 },
      { name: 'group', perSecond: 2 },
    ];
    // The limiter's clock read the time somewhere between `before` and `after` of each call.
    const calls: Array<{ before: number; after: number; waitMs: number }> = [];
    const reserve = async (rates: typeof both) => {
      const before = Date.now();
      const waitMs = await limiter.reserveDialStart('s', rates);
      calls.push({ before, after: Date.now(), waitMs });
    };
    await reserve(both);
    await reserve(both);
    await reserve([both[0] as (typeof both)[number]]);
    const [first, second, third] = calls as [(typeof calls)[0], (typeof calls)[0], (typeof calls)[0]];
    expect(first.waitMs).toBe(0);
    // Bounds of the gap between two reserved instants, given when each call could have read its clock.
    const gap = (a: (typeof calls)[0], b: (typeof calls)[0]) => ({
      min: b.before + b.waitMs - 1 - (a.after + a.waitMs),
      max: b.after + b.waitMs - (a.before + a.waitMs - 1),
    });
    // The second start waits for the slower rate (the group's, 500 ms), not only the business's.
    expect(gap(first, second).max).toBeGreaterThanOrEqual(500);
    expect(gap(first, second).min).toBeLessThanOrEqual(502);
    // The third is under the business's rate only: 200 ms after the second start.
    expect(gap(second, third).max).toBeGreaterThanOrEqual(200);
    expect(gap(second, third).min).toBeLessThanOrEqual(202);
    // Another scope has its own turns.
    expect(await limiter.reserveDialStart('t', both)).toBe(0);
  });
}
