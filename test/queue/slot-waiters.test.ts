import { describe, expect, it } from 'vitest';
import { SlotWaiters } from '../../src/queue/slot-waiters.js';

describe('SlotWaiters', () => {
  it('wakes the waiter of a promoted job at once', async () => {
    const waiters = new SlotWaiters();
    const waiting = waiters.wait('j1', 60_000, 0);
    waiters.promoted(['j1'], 10);
    await expect(waiting).resolves.toBe(true);
  });

  it("wakes on the next turn, after the promoter's own promise work, every waiter told in one turn", async () => {
    const waiters = new SlotWaiters();
    const woken: string[] = [];
    for (const id of ['j1', 'j2', 'j3']) void waiters.wait(id, 60_000, 0).then(() => woken.push(id));
    waiters.promoted(['j1'], 10);
    waiters.promoted(['j2', 'j3'], 10);
    // The promoter's continuation (its claim of the job) runs first: nobody is woken yet.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(woken).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.resolve();
    expect(woken).toEqual(['j1', 'j2', 'j3']);
  });

  it('remembers a promotion that arrives while the feeder is still asking the limiter', async () => {
    const waiters = new SlotWaiters();
    waiters.promoted(['j1'], 100);
    await expect(waiters.wait('j1', 60_000, 100)).resolves.toBe(true);
  });

  it('ignores a promotion told before the feeder asked again (the echo of its own release)', async () => {
    const waiters = new SlotWaiters();
    waiters.promoted(['j1'], 100);
    await expect(waiters.wait('j1', 20, 500)).resolves.toBe(false);
  });

  it('ends a wait early on interrupt, as a timeout would', async () => {
    const waiters = new SlotWaiters();
    const waiting = waiters.wait('j1', 60_000, 0);
    waiters.interrupt('j1');
    await expect(waiting).resolves.toBe(false);
  });

  it('forgets promotions nobody waited for after a minute, counting from the last time told', async () => {
    const waiters = new SlotWaiters();
    waiters.promoted(['old', 'again'], 0);
    waiters.promoted(['again'], 50_000);
    waiters.promoted(['late'], 70_000);
    await expect(waiters.wait('old', 10, 0)).resolves.toBe(false);
    await expect(waiters.wait('again', 10, 50_000)).resolves.toBe(true);
  });
});
