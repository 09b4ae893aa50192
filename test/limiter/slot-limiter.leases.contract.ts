import { expect } from 'vitest';
import { ask, eventually, type LimiterUnderTest, LONG, SHORT, type Timed } from './limiter-test-helpers.js';

/**
 * How every `SlotLimiter` leases slots: leases run out, are reported once by reclaim (a passed
 * slot with the job it was passed from), renewed, and keep counting until resolved (part of
 * `slotLimiterContract`; every case needs the backend's clock).
 * @param make - makes a fresh limiter, closed after the test
 * @param timed - registers a test that needs the backend's clock
 */
export function leasesContract(make: () => Promise<LimiterUnderTest>, timed: Timed): void {
  timed('reclaims a passed slot after the job it was passed from, until the slot is released', async () => {
    const { limiter } = await make();
    await limiter.acquire('b', 'j1', ask('r1', 1), LONG);
    await limiter.acquire('b', 'j2', ask('r1', 1), SHORT);
    expect((await limiter.pass?.('b', 'j1'))?.promoted).toEqual(['j2']);
    expect(await limiter.passedFrom?.('b', 'j2')).toBe('j1');
    // j2's holder died before writing j1's end: both are reported, j1 first.
    expect(
      await eventually(
        () => limiter.reclaim('b', SHORT),
        (ids) => ids.length > 0,
      ),
    ).toEqual(['j1', 'j2']);
    await limiter.release('b', 'j2');
    expect(await limiter.passedFrom?.('b', 'j2')).toBeUndefined();
    await limiter.acquire('b', 'j3', ask('r1', 1), SHORT);
    expect(
      await eventually(
        () => limiter.reclaim('b', LONG),
        (ids) => ids.length > 0,
      ),
    ).toEqual(['j3']);
  });

  timed('keeps expired leases counting until reclaim reports them, once per lease', async () => {
    const { limiter } = await make();
    await limiter.acquireMany('b', ['j1', 'j2'], ask('r1', 1), LONG);
    expect(await limiter.reclaim('b', LONG)).toEqual([]);
    // Renewing sets the lease from now: j1's now runs out SHORT ms from now, j2 still waits.
    expect(await limiter.renew('b', ['j1', 'j2'], SHORT)).toEqual(['j2']);
    expect(
      await eventually(
        () => limiter.reclaim('b', LONG),
        (ids) => ids.length > 0,
      ),
    ).toEqual(['j1']);
    // Still a holder (its call may be live): nobody took its slot.
    expect(await limiter.acquire('b', 'j2', ask('r1', 1), SHORT)).toMatchObject({
      status: 'already_queued',
      active: 1,
    });
    // The reclaim extended the lease: no other reconciler gets it.
    expect(await limiter.reclaim('b', LONG)).toEqual([]);
    expect(await limiter.reclaim('unknown-key', LONG)).toEqual([]);
    expect((await limiter.release('b', 'j1')).promoted).toEqual(['j2']);
  });

  timed('reports expired leases again once the reclaim extension runs out', async () => {
    const { limiter } = await make();
    await limiter.acquire('b', 'j1', ask('r1', 2), SHORT);
    await eventually(
      () => limiter.reclaim('b', SHORT),
      (ids) => ids.length > 0,
    );
    expect(
      await eventually(
        () => limiter.reclaim('b', LONG),
        (ids) => ids.length > 0,
      ),
    ).toEqual(['j1']);
  });

  timed('renews held slots and reports the ids that hold none', async () => {
    const { limiter } = await make();
    await limiter.acquireMany('b', ['j1', 'j2'], ask('r1', 2), SHORT);
    expect(await limiter.renew('b', ['ghost-1', 'j1', 'ghost-2'], LONG)).toEqual(['ghost-1', 'ghost-2']);
    // j1's lease was extended, j2's was not.
    expect(
      await eventually(
        () => limiter.reclaim('b', LONG),
        (ids) => ids.length > 0,
      ),
    ).toEqual(['j2']);
    await limiter.release('b', 'j1');
    expect(await limiter.renew('b', ['j1', 'j2'], LONG)).toEqual(['j1']);
    expect(await limiter.renew('b', [], LONG)).toEqual([]);
  });
}
