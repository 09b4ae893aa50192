import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { SlotLimiter, SlotSignal } from '../../src/limiter/slot-limiter.js';

/** One limiter under test, with its own empty state. */
export interface LimiterUnderTest {
  limiter: SlotLimiter;
  /** Resolves once `subscribe` listeners receive signals (Redis subscribes asynchronously). */
  whenSubscribed?: () => Promise<void>;
  /** Releases what the factory opened (connections, servers stay up). */
  close(): Promise<void>;
}

/** Makes a fresh limiter whose keys no other test sees. */
export type LimiterFactory = () => Promise<LimiterUnderTest>;

const LONG = 60_000;
const SHORT = 50;
/**
 * Only a guard against a hang, never a bound the behaviour is measured by: a loaded machine (two
 * suites on two cores) can take seconds where an idle one takes milliseconds.
 */
export const HANG_GUARD_MS = 30_000;

/**
 * Polls `probe` until it returns a value accepted by `done`, or fails after `timeoutMs` (a hang
 * guard: use it for conditions no event tells of, such as a lease running out or a server-side count).
 * @returns the accepted value
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = HANG_GUARD_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = false;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (last)
      throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Past the deadline, probe once more after the I/O a stalled process had pending: after a
    // stall, timers run before the replies that arrived meanwhile are read.
    if (Date.now() > deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      last = true;
    }
  }
}

/**
 * Resolves once `count` calls of the returned listener have been made (a promise the listener
 * settles, not a poll); rejects after `timeoutMs`, a hang guard.
 * @returns the listener to subscribe and the promise
 */
export function countdown<T>(
  count: number,
  timeoutMs = HANG_GUARD_MS,
): { listener: (value: T) => void; received: T[]; done: Promise<T[]> } {
  const received: T[] = [];
  let settle: () => void = () => {};
  const done = new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${received.length} of ${count} received within ${timeoutMs} ms`)),
      timeoutMs,
    );
    settle = () => {
      clearTimeout(timer);
      resolve(received);
    };
  });
  if (count === 0) settle();
  const listener = (value: T) => {
    received.push(value);
    if (received.length === count) settle();
  };
  return { listener, received, done };
}

/** Resolves with the next signal a listener receives (rejects after a hang guard). */
function nextSignal(limiter: SlotLimiter, timeoutMs = HANG_GUARD_MS): Promise<SlotSignal> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no signal received within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = limiter.subscribe((signal) => {
      clearTimeout(timer);
      stop();
      resolve(signal);
    });
  });
}

/** What a backend under the contract can be trusted with. */
export interface ContractOptions {
  /**
   * False when the backend's clock cannot time leases: ioredis-mock's TIME joins a rounded
   * wall-clock second with hrtime's nanoseconds, so its "now" jumps by up to a second. The cases
   * that time leases and dial spacing then run on memory and real Redis only.
   */
  reliableClock?: boolean;
}

/**
 * The behaviour every {@link SlotLimiter} must have, held to the memory and Redis limiters alike.
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

    it('grants slots up to the limit, then enqueues', async () => {
      const { limiter } = await make();
      expect(await limiter.acquire('b', 'j1', 2, LONG)).toMatchObject({
        status: 'acquired',
        active: 1,
        limit: 2,
        queueLength: 0,
      });
      expect(await limiter.acquire('b', 'j2', 2, LONG)).toMatchObject({
        status: 'acquired',
        active: 2,
        limit: 2,
        queueLength: 0,
      });
      expect(await limiter.acquire('b', 'j3', 2, LONG)).toMatchObject({
        status: 'enqueued',
        active: 2,
        limit: 2,
        queueLength: 1,
      });
      expect(await limiter.acquire('b', 'j4', 2, LONG)).toMatchObject({
        status: 'enqueued',
        active: 2,
        limit: 2,
        queueLength: 2,
      });
      // Keys are independent.
      expect((await limiter.acquire('other', 'j3', 2, LONG)).status).toBe('acquired');
    });

    it('answers already_queued to a waiting job and inflight to a holder, changing nothing', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 1, LONG);
      await limiter.acquire('b', 'j2', 1, LONG);
      expect(await limiter.acquire('b', 'j2', 1, LONG)).toMatchObject({
        status: 'already_queued',
        active: 1,
        limit: 1,
        queueLength: 1,
      });
      expect(await limiter.acquire('b', 'j1', 1, LONG)).toMatchObject({
        status: 'inflight',
        active: 1,
        limit: 1,
        queueLength: 1,
      });
    });

    it('promotes the head of the line on release, in FIFO order', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 1, LONG);
      for (const id of ['j2', 'j3', 'j4']) await limiter.acquire('b', id, 1, LONG);
      expect(await limiter.release('b', 'j1')).toMatchObject({
        released: true,
        promoted: ['j2'],
        active: 1,
        limit: 1,
        queueLength: 2,
      });
      expect((await limiter.acquire('b', 'j2', 1, LONG)).status).toBe('inflight');
      expect((await limiter.release('b', 'j2')).promoted).toEqual(['j3']);
      expect((await limiter.release('b', 'j3')).promoted).toEqual(['j4']);
      expect(await limiter.release('b', 'j4')).toMatchObject({
        released: true,
        promoted: [],
        active: 0,
        limit: 1,
        queueLength: 0,
      });
    });

    it('never lets a newcomer jump the line, even when a slot is free', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 2, LONG);
      await limiter.acquire('b', 'j2', 2, LONG);
      await limiter.acquire('b', 'j3', 2, LONG);
      // The limit grows: a slot is free, but j3 waits, so j4 queues behind it.
      expect(await limiter.acquire('b', 'j4', 3, LONG)).toMatchObject({
        status: 'enqueued',
        active: 2,
        limit: 3,
        queueLength: 2,
      });
      expect(await limiter.release('b', 'j1')).toMatchObject({
        promoted: ['j3', 'j4'],
        active: 3,
        limit: 3,
        queueLength: 0,
      });
    });

    it('is idempotent on release', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 1, LONG);
      await limiter.acquire('b', 'j2', 1, LONG);
      expect((await limiter.release('b', 'j1')).promoted).toEqual(['j2']);
      expect(await limiter.release('b', 'j1')).toMatchObject({
        released: false,
        promoted: [],
        active: 1,
        limit: 1,
        queueLength: 0,
      });
      expect(await limiter.release('b', 'never-seen')).toMatchObject({
        released: false,
        promoted: [],
        active: 1,
      });
    });

    it('stores the latest limit: a lower one holds promotions back until holders drop below it', async () => {
      const { limiter } = await make();
      for (const id of ['j1', 'j2', 'j3']) await limiter.acquire('b', id, 3, LONG);
      expect(await limiter.acquire('b', 'j4', 1, LONG)).toMatchObject({
        status: 'enqueued',
        active: 3,
        limit: 1,
        queueLength: 1,
      });
      expect(await limiter.release('b', 'j1')).toMatchObject({
        released: true,
        promoted: [],
        active: 2,
        limit: 1,
      });
      expect((await limiter.release('b', 'j2')).promoted).toEqual([]);
      expect(await limiter.release('b', 'j3')).toMatchObject({ promoted: ['j4'], active: 1, queueLength: 0 });
    });

    it('passes a slot only into a promotion, and otherwise changes nothing', async () => {
      const { limiter } = await make();
      const pass = (jobId: string) => {
        if (!limiter.pass) throw new Error('the limiter has no pass');
        return limiter.pass('b', jobId);
      };
      await limiter.acquire('b', 'j1', 1, LONG);
      // Nobody waits: j1 keeps its slot.
      expect(await pass('j1')).toMatchObject({ released: false, promoted: [], active: 1, queueLength: 0 });
      expect(await limiter.acquire('b', 'j2', 1, LONG)).toMatchObject({ status: 'enqueued', active: 1 });
      // A job that holds no slot passes nothing.
      expect(await pass('ghost')).toMatchObject({ released: false, promoted: [], active: 1, queueLength: 1 });
      expect(await pass('j1')).toMatchObject({ released: true, promoted: ['j2'], active: 1, queueLength: 0 });
      expect((await limiter.acquire('b', 'j1', 1, LONG)).status).toBe('enqueued');
      // A lowered limit leaves no room: the holders keep their slots.
      await limiter.acquire('c', 'k1', 2, LONG);
      await limiter.acquire('c', 'k2', 2, LONG);
      await limiter.acquire('c', 'k3', 1, LONG);
      expect(await limiter.pass?.('c', 'k1')).toMatchObject({ released: false, promoted: [], active: 2 });
    });

    timed('reclaims a passed slot after the job it was passed from, until the slot is released', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 1, LONG);
      await limiter.acquire('b', 'j2', 1, SHORT);
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
      await limiter.acquire('b', 'j3', 1, SHORT);
      expect(
        await eventually(
          () => limiter.reclaim('b', LONG),
          (ids) => ids.length > 0,
        ),
      ).toEqual(['j3']);
    });

    it('removes waiting jobs only', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 1, LONG);
      await limiter.acquire('b', 'j2', 1, LONG);
      await limiter.acquire('b', 'j3', 1, LONG);
      expect(await limiter.remove('b', ['j2', 'nobody', 'j1'])).toBe(1);
      expect(await limiter.remove('b', [])).toBe(0);
      expect(await limiter.remove('unknown-key', ['j2'])).toBe(0);
      expect((await limiter.acquire('b', 'j1', 1, LONG)).status).toBe('inflight');
      expect(await limiter.release('b', 'j1')).toMatchObject({ promoted: ['j3'], queueLength: 0 });
      // A removed job that asks again queues at the tail.
      expect((await limiter.acquire('b', 'j2', 1, LONG)).status).toBe('enqueued');
    });

    timed('keeps expired leases counting until reclaim reports them, once per lease', async () => {
      const { limiter } = await make();
      // A live lease is not reported. A lease of LONG cannot run out before this reclaim however
      // loaded the machine is (a 300 ms one did, with two suites on two cores).
      await limiter.acquire('b', 'j1', 1, LONG);
      await limiter.acquire('b', 'j2', 1, LONG);
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
      expect(await limiter.acquire('b', 'j2', 1, SHORT)).toMatchObject({
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
      await limiter.acquire('b', 'j1', 2, SHORT);
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

    it('renews held slots and reports the ids that hold none', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 2, SHORT);
      await limiter.acquire('b', 'j2', 2, SHORT);
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

    it('acquireMany answers each job as if each asked alone, in order, in one step', async () => {
      const { limiter } = await make();
      expect(await limiter.acquireMany('b', ['a', 'b', 'c', 'd'], 2, LONG)).toMatchObject({
        statuses: ['acquired', 'acquired', 'enqueued', 'enqueued'],
        active: 2,
        limit: 2,
        queueLength: 2,
      });
      expect(await limiter.acquireMany('b', ['a', 'c', 'e'], 2, LONG)).toMatchObject({
        statuses: ['inflight', 'already_queued', 'enqueued'],
        active: 2,
        queueLength: 3,
      });
      expect((await limiter.release('b', 'a')).promoted).toEqual(['c']);
      expect((await limiter.acquireMany('b', [], 2, LONG)).statuses).toEqual([]);
      // A newcomer never jumps the line, even with a free slot in the same call.
      await limiter.release('b', 'b');
      expect(await limiter.acquireMany('b', ['f'], 3, LONG)).toMatchObject({ statuses: ['enqueued'] });
    });

    it('rebuilds a key: holders replace the slots and the line is emptied', async () => {
      const { limiter } = await make();
      await limiter.acquire('b', 'j1', 1, LONG);
      await limiter.acquire('b', 'j2', 1, LONG);
      await limiter.rebuild('b', { fence: 1, holders: ['h1', 'h2'] }, 2, LONG);
      expect((await limiter.acquire('b', 'h1', 2, LONG)).status).toBe('inflight');
      expect((await limiter.acquire('b', 'j1', 2, LONG)).status).toBe('enqueued');
      expect(await limiter.acquire('b', 'j2', 2, LONG)).toMatchObject({
        status: 'enqueued',
        active: 2,
        limit: 2,
        queueLength: 2,
      });
      expect((await limiter.release('b', 'h2')).promoted).toEqual(['j1']);
      await limiter.rebuild('b', { fence: 2, holders: [] }, 2, LONG);
      expect(await limiter.acquire('b', 'j9', 2, LONG)).toMatchObject({
        status: 'acquired',
        active: 1,
        limit: 2,
        queueLength: 0,
      });
    });

    timed('spaces dial starts: at most N start in any one-second window', async () => {
      const { limiter } = await make();
      const perSecond = 5;
      // The limiter's clock read the time somewhere between `before` and `after` of each call.
      const calls: Array<{ before: number; after: number; waitMs: number }> = [];
      for (let i = 0; i < 3 * perSecond; i++) {
        const before = Date.now();
        const waitMs = await limiter.reserveDialStart('account', perSecond);
        calls.push({ before, after: Date.now(), waitMs });
        expect(waitMs).toBeGreaterThanOrEqual(0);
      }
      expect(calls[0]!.waitMs).toBe(0);
      // Bounds of the gap between reserved instants i and j, given when each call could have read its clock.
      const gap = (i: number, j: number) => {
        const [a, b] = [calls[i]!, calls[j]!];
        return {
          min: b.before + b.waitMs - 1 - (a.after + a.waitMs),
          max: b.after + b.waitMs - (a.before + a.waitMs - 1),
        };
      };
      for (let i = 0; i + perSecond < calls.length; i++) {
        // At most N starts in any one-second window: start i+N is a full second after start i (to
        // within the round trips, the only uncertainty; the memory suite checks exact values).
        expect(gap(i, i + perSecond).max).toBeGreaterThanOrEqual(1000);
      }
      // And not more than asked: a call told to wait waits only until 1000/N ms after the start
      // before it. (A call told 0 started when it asked: a caller slowed down by a loaded machine
      // leaves gaps wider than 1000/N that the limiter did not make.)
      const waited = calls.flatMap((call, i) => (i > 0 && call.waitMs > 0 ? [i] : []));
      // Back-to-back calls outrun a 200 ms spacing at once: most of them are told to wait.
      expect(waited.length).toBeGreaterThan(0);
      for (const i of waited)
        expect(gap(i - 1, i).min, `call ${i}`).toBeLessThanOrEqual(1000 / perSecond + 2);
      // Another scope has its own budget.
      expect(await limiter.reserveDialStart('other-account', perSecond)).toBe(0);
    });

    it('initialises a new key from the holder source before answering', async () => {
      const { limiter } = await make();
      const calls: string[] = [];
      limiter.setHolderSource(async (key) => {
        calls.push(key);
        return { fence: calls.length, holders: key === 'b' ? ['h1', 'h2'] : [] };
      });
      const [first, second] = await Promise.all([
        limiter.acquire('b', 'j1', 2, LONG),
        limiter.acquire('b', 'h1', 2, LONG),
      ]);
      expect(first).toMatchObject({ status: 'enqueued', active: 2, limit: 2, queueLength: 1 });
      expect(second.status).toBe('inflight');
      expect(calls).toEqual(['b']);
      // Release and renew of a new key also see its holders.
      expect(await limiter.release('c', 'nobody')).toMatchObject({ released: false, active: 0 });
      limiter.setHolderSource(async () => ({ fence: 1, holders: ['h7'] }));
      expect(await limiter.renew('d', ['h7', 'j1'], LONG)).toEqual(['j1']);
      expect(await limiter.release('e', 'h7')).toMatchObject({ released: true, active: 0 });
    });

    it('retries the holder source after it failed', async () => {
      const { limiter } = await make();
      let fail = true;
      limiter.setHolderSource(async () => {
        if (fail) throw new Error('database down');
        return { fence: 1, holders: ['h1'] };
      });
      await expect(limiter.acquire('b', 'j1', 1, LONG)).rejects.toThrow('database down');
      fail = false;
      expect(await limiter.acquire('b', 'j1', 1, LONG)).toMatchObject({ status: 'enqueued', active: 1 });
    });

    it('starts a new key empty when no holder source is set', async () => {
      const { limiter } = await make();
      expect(await limiter.acquire('b', 'j1', 1, LONG)).toMatchObject({ status: 'acquired', active: 1 });
    });

    it('tells subscribers about promotions, and only about promotions', async () => {
      const made = await make();
      const { limiter } = made;
      const seen: SlotSignal[] = [];
      const stop = limiter.subscribe((signal) => seen.push(signal));
      await made.whenSubscribed?.();
      await limiter.acquire('b"\\{x}', 'j1', 1, LONG);
      await limiter.acquire('b"\\{x}', 'jöb "2"\n', 1, LONG);
      await limiter.release('b"\\{x}', 'nobody');
      const signal = nextSignal(limiter);
      await limiter.release('b"\\{x}', 'j1');
      expect(await signal).toEqual({ key: 'b"\\{x}', promoted: ['jöb "2"\n'] });
      // `seen`'s listener was added before nextSignal's, so it has heard the signal by now.
      expect(seen).toEqual([{ key: 'b"\\{x}', promoted: ['jöb "2"\n'] }]);
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
      const results = await Promise.all(ids.map((id) => limiter.acquire('b', id, 3, LONG)));
      const acquired = ids.filter((_, i) => results[i]!.status === 'acquired');
      expect(acquired).toHaveLength(3);
      const waiting = ids.filter((id) => !acquired.includes(id));
      const promoted: string[] = [];
      for (const holder of [...acquired, ...waiting])
        promoted.push(...(await limiter.release('b', holder)).promoted);
      expect(promoted).toEqual(waiting);
    });

    it('rejects a limit, lease or rate that makes no sense', async () => {
      const { limiter } = await make();
      await expect(limiter.acquire('b', 'j1', 0, LONG)).rejects.toBeInstanceOf(ValidationError);
      await expect(limiter.acquire('b', 'j1', 1.5, LONG)).rejects.toBeInstanceOf(ValidationError);
      await expect(limiter.acquire('b', 'j1', 1, 0)).rejects.toBeInstanceOf(ValidationError);
      await expect(limiter.reserveDialStart('x', 0)).rejects.toBeInstanceOf(ValidationError);
      await expect(limiter.rebuild('b', { fence: 1, holders: [] }, 0, LONG)).rejects.toBeInstanceOf(
        ValidationError,
      );
    });
  });
}
