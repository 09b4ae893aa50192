import type { SlotAsk, SlotLimiter, SlotSignal } from '../../src/limiter/slot-limiter.js';

/** One limiter under test, with its own empty state. */
export interface LimiterUnderTest {
  limiter: SlotLimiter;
  /** Resolves once `subscribe` listeners receive signals (Redis subscribes asynchronously). */
  whenSubscribed?: () => Promise<void>;
  /** Releases what the factory opened (connections; servers stay up). */
  close(): Promise<void>;
}

/** Makes a fresh limiter whose keys no other test sees. */
export type LimiterFactory = () => Promise<LimiterUnderTest>;

/** Registers a test, or nothing where the backend's clock cannot time it. */
export type Timed = (name: string, test: () => Promise<void>) => void;

/**
 * Only a guard against a hang, never a bound the behaviour is measured by: a loaded machine (two
 * suites on two cores) can take seconds where an idle one takes milliseconds.
 */
export const HANG_GUARD_MS = 30_000;

/** A lease no test outlives. */
export const LONG = 60_000;
/** A lease that runs out while a test waits for it. */
export const SHORT = 50;

/**
 * An ask of `run` of `business` (default `b`, the business of the scope `b`).
 * @returns the ask
 */
export function ask(run: string, runLimit: number, business = 'b', priority?: number): SlotAsk {
  return priority === undefined ? { business, run, runLimit } : { business, run, runLimit, priority };
}

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
export function nextSignal(limiter: SlotLimiter, timeoutMs = HANG_GUARD_MS): Promise<SlotSignal> {
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
