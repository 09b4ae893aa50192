import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { SlotHolders, SlotSignal } from '../../src/limiter/slot-limiter.js';
import { ask, type LimiterFactory, type LimiterUnderTest, LONG, nextSignal } from './limiter-test-helpers.js';
import { leasesContract } from './slot-limiter.leases.contract.js';
import { sharingContract } from './slot-limiter.sharing.contract.js';

/** What a backend under the contract can be trusted with. */
export interface ContractOptions {
  /**
   * False when the backend's clock cannot time leases: ioredis-mock's TIME joins a rounded
   * wall-clock second with hrtime's nanoseconds, so its "now" jumps by up to a second. The cases
   * that time leases and dial spacing then run on memory and real Redis only.
   */
  reliableClock?: boolean;
  /**
   * True when grants carry fencing tokens (Redis): a rebuild `ifNewer` then keeps a state with a
   * token as new as the read's. A limiter without tokens replaces its state on every rebuild.
   */
  fenced?: boolean;
}

/** A database read with no members' limits, no run limits and no group limit. */
export function holders(
  fence: number,
  jobs: Array<[job: string, run: string, business?: string]>,
): SlotHolders {
  return {
    fence,
    holders: jobs.map(([jobId, run, business = 'b']) => ({ jobId, run, business })),
    members: [{ business: 'b', limit: null }],
    runs: [],
    groupLimit: null,
  };
}

/**
 * The behaviour every `SlotLimiter` must have, held to the memory and Redis limiters alike: the
 * slots, lines and signals here, the leases in `slot-limiter.leases.contract.ts`, the sharing of
 * slots between runs, businesses and groups in `slot-limiter.sharing.contract.ts`.
 * @param name - the implementation's name in the report
 * @param factory - makes a fresh limiter per test
 * @param options - what the backend can be trusted with
 */
export function slotLimiterContract(
  name: string,
  factory: LimiterFactory,
  options: ContractOptions = {},
): void {
  const timed = options.reliableClock === false ? () => {} : it;
  describe(`SlotLimiter contract: ${name}`, () => {
    let open: LimiterUnderTest[] = [];
    afterEach(async () => {
      await Promise.all(open.map((u) => u.close()));
      open = [];
    });
    const make = async () => {
      const made = await factory();
      open.push(made);
      return made;
    };

    it('grants slots up to the limit, then enqueues, each scope on its own', async () => {
      const { limiter } = await make();
      expect(await limiter.acquire('b', 'j1', ask('r1', 2), LONG)).toMatchObject({
        status: 'acquired',
        active: 1,
        limit: 2,
        runActive: 1,
        runLimit: 2,
        queueLength: 0,
      });
      expect(await limiter.acquire('b', 'j2', ask('r1', 2), LONG)).toMatchObject({
        status: 'acquired',
        active: 2,
      });
      expect(await limiter.acquire('b', 'j3', ask('r1', 2), LONG)).toMatchObject({
        status: 'enqueued',
        active: 2,
        runActive: 2,
        queueLength: 1,
      });
      expect(await limiter.acquire('b', 'j4', ask('r1', 2), LONG)).toMatchObject({
        status: 'enqueued',
        queueLength: 2,
      });
      expect((await limiter.acquire('other', 'j3', ask('r1', 2, 'other'), LONG)).status).toBe('acquired');
    });

    it('answers already_queued to a waiting job and inflight to a holder, changing nothing', async () => {
      const { limiter } = await make();
      await limiter.acquireMany('b', ['j1', 'j2'], ask('r1', 1), LONG);
      expect(await limiter.acquire('b', 'j2', ask('r1', 1), LONG)).toMatchObject({
        status: 'already_queued',
        active: 1,
        queueLength: 1,
      });
      expect(await limiter.acquire('b', 'j1', ask('r1', 1), LONG)).toMatchObject({
        status: 'inflight',
        active: 1,
        queueLength: 1,
      });
    });

    it('promotes the head of the run line on release, first come first served', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', ask('r1', 1), LONG);
      for (const id of ['j2', 'j3', 'j4']) await limiter.acquire('b', id, ask('r1', 1), LONG);
      expect(await limiter.release('b', 'j1')).toMatchObject({
        released: true,
        promoted: ['j2'],
        active: 1,
        runActive: 1,
        queueLength: 2,
      });
      expect((await limiter.acquire('b', 'j2', ask('r1', 1), LONG)).status).toBe('inflight');
      expect((await limiter.release('b', 'j2')).promoted).toEqual(['j3']);
      expect((await limiter.release('b', 'j3')).promoted).toEqual(['j4']);
      expect(await limiter.release('b', 'j4')).toMatchObject({
        released: true,
        promoted: [],
        active: 0,
        queueLength: 0,
      });
    });

    it('is idempotent on release, and answers zeros for a job it knows not', async () => {
      const { limiter } = await make();
      await limiter.acquireMany('b', ['j1', 'j2'], ask('r1', 1), LONG);
      expect((await limiter.release('b', 'j1')).promoted).toEqual(['j2']);
      expect(await limiter.release('b', 'j1')).toMatchObject({
        released: false,
        promoted: [],
        active: 0,
        limit: 0,
        runActive: 0,
        queueLength: 0,
      });
      expect(await limiter.release('b', 'j2')).toMatchObject({ released: true, active: 0, limit: 1 });
    });

    it('passes a slot only into a promotion, and otherwise changes nothing', async () => {
      const { limiter } = await make();
      const pass = (key: string, jobId: string) => {
        if (!limiter.pass) throw new Error('the limiter has no pass');
        return limiter.pass(key, jobId);
      };
      await limiter.acquire('b', 'j1', ask('r1', 1), LONG);
      // Nobody waits: j1 keeps its slot.
      expect(await pass('b', 'j1')).toMatchObject({
        released: false,
        promoted: [],
        active: 1,
        queueLength: 0,
      });
      expect(await limiter.acquire('b', 'j2', ask('r1', 1), LONG)).toMatchObject({
        status: 'enqueued',
        active: 1,
      });
      // A job that holds no slot passes nothing.
      expect(await pass('b', 'ghost')).toMatchObject({ released: false, promoted: [], active: 0 });
      expect(await pass('b', 'j1')).toMatchObject({
        released: true,
        promoted: ['j2'],
        active: 1,
        queueLength: 0,
      });
      expect(await limiter.passedFrom?.('b', 'j2')).toBe('j1');
      expect((await limiter.acquire('b', 'j1', ask('r1', 1), LONG)).status).toBe('enqueued');
      // A lowered limit leaves no room: the holders keep their slots.
      await limiter.acquireMany('c', ['k1', 'k2', 'k3'], ask('r1', 2, 'c'), LONG);
      await limiter.setLimits('c', { business: { id: 'c', limit: 1 } });
      expect(await pass('c', 'k1')).toMatchObject({ released: false, promoted: [], active: 2, limit: 1 });
      // The waiting job's own run is full: a slot freed in another run of the business is not its.
      await limiter.acquireMany('d', ['m1', 'm2'], ask('r1', 1, 'd'), LONG);
      await limiter.acquire('d', 'n1', ask('r2', 2, 'd'), LONG);
      expect(await pass('d', 'n1')).toMatchObject({ released: false, promoted: [], runActive: 1 });
    });

    it('removes waiting jobs only; a removed job asking again queues at the tail', async () => {
      const { limiter } = await make();
      await limiter.acquireMany('b', ['j1', 'j2', 'j3'], ask('r1', 1), LONG);
      expect(await limiter.remove('b', ['j2', 'nobody', 'j1'])).toBe(1);
      expect(await limiter.remove('b', [])).toBe(0);
      expect(await limiter.remove('unknown-key', ['j2'])).toBe(0);
      expect((await limiter.acquire('b', 'j1', ask('r1', 1), LONG)).status).toBe('inflight');
      expect((await limiter.acquire('b', 'j2', ask('r1', 1), LONG)).status).toBe('enqueued');
      expect(await limiter.release('b', 'j1')).toMatchObject({ promoted: ['j3'], queueLength: 1 });
      expect((await limiter.release('b', 'j3')).promoted).toEqual(['j2']);
    });

    it('keeps a run and its limit until its feeder retires it and it is idle', async () => {
      const { limiter } = await make();
      await limiter.setLimits('b', { run: { id: 'r1', business: 'b', limit: 3 } });
      await limiter.acquireMany('b', ['j1', 'j2'], ask('r1', 1), LONG);
      // A stale ask (limit 1) does not undo the change.
      expect(await limiter.acquire('b', 'j3', ask('r1', 1), LONG)).toMatchObject({
        status: 'acquired',
        runLimit: 3,
      });
      await limiter.acquire('b', 'j4', ask('r1', 1), LONG);
      // Retired while it holds slots and a job waits: still known.
      expect(await limiter.remove('b', [], 'r1')).toBe(0);
      expect((await limiter.release('b', 'j1')).promoted).toEqual(['j4']);
      for (const job of ['j2', 'j3']) await limiter.release('b', job);
      expect(await limiter.release('b', 'j4')).toMatchObject({ released: true, runLimit: 3 });
      // Idle and retired: forgotten, so the next ask introduces it with its own limit.
      expect(await limiter.acquire('b', 'j5', ask('r1', 1), LONG)).toMatchObject({
        status: 'acquired',
        runLimit: 1,
      });
      // An ask undoes a retirement: released idle, the run stays known.
      await limiter.remove('b', [], 'r1');
      await limiter.acquire('b', 'j6', ask('r1', 1), LONG);
      await limiter.setLimits('b', { run: { id: 'r1', business: 'b', limit: 2 } });
      for (const job of ['j5', 'j6']) await limiter.release('b', job);
      expect(await limiter.acquire('b', 'j7', ask('r1', 1), LONG)).toMatchObject({ runLimit: 2 });
    });

    it('acquireMany answers each job as if each asked alone, in order, in one step', async () => {
      const { limiter } = await make();
      expect(await limiter.acquireMany('b', ['a', 'b', 'c', 'd'], ask('r1', 2), LONG)).toMatchObject({
        statuses: ['acquired', 'acquired', 'enqueued', 'enqueued'],
        active: 2,
        queueLength: 2,
      });
      expect(await limiter.acquireMany('b', ['a', 'c', 'e', 'e'], ask('r1', 2), LONG)).toMatchObject({
        statuses: ['inflight', 'already_queued', 'enqueued', 'already_queued'],
        queueLength: 3,
      });
      expect((await limiter.release('b', 'a')).promoted).toEqual(['c']);
      expect((await limiter.acquireMany('b', [], ask('r1', 2), LONG)).statuses).toEqual([]);
    });

    it('initialises a new scope from the holder source before answering', async () => {
      const { limiter } = await make();
      const calls: string[] = [];
      limiter.setHolderSource(async (key) => {
        calls.push(key);
        return {
          ...holders(
            calls.length,
            key === 'b'
              ? [
                  ['h1', 'r1'],
                  ['h2', 'r1'],
                ]
              : [],
          ),
          members: [{ business: key, limit: 2 }],
        };
      });
      const [first, second] = await Promise.all([
        limiter.acquire('b', 'j1', ask('r1', 5), LONG),
        limiter.acquire('b', 'h1', ask('r1', 5), LONG),
      ]);
      expect(first).toMatchObject({ status: 'enqueued', active: 2, limit: 2, queueLength: 1 });
      expect(second.status).toBe('inflight');
      expect(calls).toEqual(['b']);
      // Release and renew of a new scope also see its holders.
      expect(await limiter.release('c', 'nobody')).toMatchObject({ released: false, active: 0 });
      limiter.setHolderSource(async (key) => ({
        ...holders(1, [['h7', 'r7', key]]),
        members: [{ business: key, limit: 1 }],
      }));
      expect(await limiter.renew('d', ['h7', 'j1'], LONG)).toEqual(['j1']);
      expect(await limiter.release('e', 'h7')).toMatchObject({ released: true, active: 0 });
    });

    it('retries the holder source after it failed', async () => {
      const { limiter } = await make();
      let fail = true;
      limiter.setHolderSource(async () => {
        if (fail) throw new Error('database down');
        return holders(1, [['h1', 'r1']]);
      });
      await expect(limiter.acquire('b', 'j1', ask('r1', 1), LONG)).rejects.toThrow('database down');
      fail = false;
      expect(await limiter.acquire('b', 'j1', ask('r1', 1), LONG)).toMatchObject({
        status: 'enqueued',
        active: 1,
      });
    });

    it('starts a new scope empty, accepting any business, when no holder source is set', async () => {
      const { limiter } = await make();
      expect(await limiter.acquire('b', 'j1', ask('r1', 1), LONG)).toMatchObject({
        status: 'acquired',
        active: 1,
      });
      expect(await limiter.acquire('b', 'k1', ask('r9', 1, 'anyone'), LONG)).toMatchObject({
        status: 'acquired',
      });
    });

    it('tells subscribers about promotions, and only about promotions', async () => {
      const made = await make();
      const { limiter } = made;
      const key = 'b"\\{x}';
      const seen: SlotSignal[] = [];
      const stop = limiter.subscribe((signal) => seen.push(signal));
      await made.whenSubscribed?.();
      await limiter.acquire(key, 'j1', ask('r1', 1, key), LONG);
      await limiter.acquire(key, 'jöb "2"\n', ask('r1', 1, key), LONG);
      await limiter.release(key, 'nobody');
      const signal = nextSignal(limiter);
      await limiter.release(key, 'j1');
      expect(await signal).toEqual({ key, promoted: ['jöb "2"\n'] });
      // `seen`'s listener was added before nextSignal's, so it has heard the signal by now.
      expect(seen).toEqual([{ key, promoted: ['jöb "2"\n'] }]);
      stop();
    });

    it('tells subscribers of jobs handed over by a closing promoter, with the fence', async () => {
      const made = await make();
      const { limiter } = made;
      const stop = limiter.subscribe(() => {});
      await made.whenSubscribed?.();
      const signal = nextSignal(limiter);
      await limiter.handOver?.('b"\\{x}', ['jöb "2"\n', 'j3'], 7);
      expect(await signal).toEqual({
        key: 'b"\\{x}',
        promoted: ['jöb "2"\n', 'j3'],
        handedOver: true,
        fence: 7,
      });
      stop();
    });

    it('hands each slot to exactly one of many concurrent callers, in arrival order', async () => {
      const { limiter } = await make();
      const ids = Array.from({ length: 30 }, (_, i) => `j${String(i).padStart(2, '0')}`);
      const results = await Promise.all(ids.map((id) => limiter.acquire('b', id, ask('r1', 3), LONG)));
      const acquired = ids.filter((_, i) => results[i]?.status === 'acquired');
      expect(acquired).toHaveLength(3);
      const waiting = ids.filter((id) => !acquired.includes(id));
      const promoted: string[] = [];
      for (const holder of [...acquired, ...waiting])
        promoted.push(...(await limiter.release('b', holder)).promoted);
      expect(promoted).toEqual(waiting);
    });

    it('rejects a limit, weight, lease or rate that makes no sense', async () => {
      const { limiter } = await make();
      const bad = ValidationError;
      await expect(limiter.acquire('b', 'j1', ask('r1', 0), LONG)).rejects.toBeInstanceOf(bad);
      await expect(limiter.acquire('b', 'j1', ask('r1', 1.5), LONG)).rejects.toBeInstanceOf(bad);
      await expect(limiter.acquire('b', 'j1', ask('r1', 1, 'b', 0), LONG)).rejects.toBeInstanceOf(bad);
      await expect(limiter.acquire('b', 'j1', ask('', 1), LONG)).rejects.toBeInstanceOf(bad);
      await expect(limiter.acquire('b', 'j1', ask('r1', 1), 0)).rejects.toBeInstanceOf(bad);
      await expect(limiter.setLimits('b', { group: 0 })).rejects.toBeInstanceOf(bad);
      await expect(limiter.setLimits('b', { business: { id: 'b', limit: -1 } })).rejects.toBeInstanceOf(bad);
      await expect(limiter.reserveDialStart('x', [])).rejects.toBeInstanceOf(bad);
      await expect(limiter.reserveDialStart('x', [{ name: 'a', perSecond: 0 }])).rejects.toBeInstanceOf(bad);
      await expect(limiter.rebuild('b', holders(1, []), 0)).rejects.toBeInstanceOf(bad);
    });

    (options.fenced ? it : () => {})('rebuilds ifNewer only over no state or an older fence', async () => {
      const { limiter } = await make();
      const read = (fence: number, jobs: string[]) => ({
        ...holders(
          fence,
          jobs.map((job): [string, string] => [job, 'r1']),
        ),
        runs: [{ run: 'r1', business: 'b', limit: 2 }],
      });
      expect(await limiter.rebuild('b', read(5, ['h1']), LONG, { ifNewer: true })).toBe(true);
      expect(await limiter.rebuild('b', read(4, []), LONG, { ifNewer: true })).toBe(false);
      expect(await limiter.rebuild('b', read(5, []), LONG, { ifNewer: true })).toBe(false);
      expect(await limiter.acquire('b', 'h1', ask('r1', 2), LONG)).toMatchObject({
        status: 'inflight',
        fence: 5,
      });
      // Without ifNewer the read replaces the state whatever its token.
      expect(await limiter.rebuild('b', read(3, []), LONG)).toBe(true);
      expect(await limiter.acquire('b', 'h1', ask('r1', 2), LONG)).toMatchObject({
        status: 'acquired',
        fence: 3,
      });
    });

    leasesContract(make, timed);
    sharingContract(make, timed);
  });
}
