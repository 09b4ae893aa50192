import { describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { ask } from './limiter-test-helpers.js';
import { slotLimiterContract } from './slot-limiter.contract.js';

slotLimiterContract('MemorySlotLimiter', async () => {
  const limiter = new MemorySlotLimiter();
  return { limiter, close: () => limiter.close() };
});

describe('MemorySlotLimiter with an injected clock', () => {
  it('expires leases by the injected clock, not the wall clock', async () => {
    let now = 1_000;
    const limiter = new MemorySlotLimiter({ clock: { now: () => now } });
    await limiter.acquire('b', 'j1', ask('r1', 1), 100);
    now = 1_099;
    expect(await limiter.reclaim('b', 100)).toEqual([]);
    now = 1_100;
    expect(await limiter.reclaim('b', 100)).toEqual(['j1']);
    expect(await limiter.reclaim('b', 100)).toEqual([]);
    now = 1_200;
    expect(await limiter.reclaim('b', 100)).toEqual(['j1']);
  });

  it('spaces dial starts exactly 1000 / perSecond apart, under every rate of a start at once', async () => {
    let now = 0;
    const limiter = new MemorySlotLimiter({ clock: { now: () => now } });
    const business = { name: 'business', perSecond: 5 };
    const group = { name: 'group', perSecond: 2 };
    const waits = [];
    for (let i = 0; i < 4; i++)
      waits.push(await limiter.reserveDialStart('a', [{ name: 'a', perSecond: 4 }]));
    expect(waits).toEqual([0, 250, 500, 750]);
    expect(await limiter.reserveDialStart('s', [business, group])).toBe(0);
    expect(await limiter.reserveDialStart('s', [business, group])).toBe(500);
    expect(await limiter.reserveDialStart('s', [business])).toBe(700);
    expect(await limiter.reserveDialStart('s', [group])).toBe(1_000);
    // The same names in another scope are other rates.
    expect(await limiter.reserveDialStart('t', [business, group])).toBe(0);
    now = 2_000;
    expect(await limiter.reserveDialStart('a', [{ name: 'a', perSecond: 4 }])).toBe(0);
  });

  it('gives promoted jobs the lease stored by the latest acquire', async () => {
    let now = 0;
    const limiter = new MemorySlotLimiter({ clock: { now: () => now } });
    await limiter.acquire('b', 'j1', ask('r1', 1), 1_000);
    await limiter.acquire('b', 'j2', ask('r1', 1), 500);
    await limiter.release('b', 'j1');
    now = 499;
    expect(await limiter.reclaim('b', 1_000)).toEqual([]);
    now = 500;
    expect(await limiter.reclaim('b', 1_000)).toEqual(['j2']);
  });

  it('signals asynchronously, never inside the promoting call, and survives a throwing listener', async () => {
    const limiter = new MemorySlotLimiter();
    const seen: string[] = [];
    limiter.subscribe(() => {
      throw new Error('listener bug');
    });
    limiter.subscribe((signal) => seen.push(signal.promoted.join()));
    await limiter.acquireMany('b', ['j1', 'j2'], ask('r1', 1), 1_000);
    const released = limiter.release('b', 'j1');
    expect(seen).toEqual([]);
    expect((await released).promoted).toEqual(['j2']);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual(['j2']);
  });
});
