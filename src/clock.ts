/**
 * Time as the engine sees it: the current instant and one-shot timers. Every timer of
 * `OutboundQueue` (and the leases of `MemorySlotLimiter`) goes through it, so a test or a
 * simulation can run the engine on a virtual clock and replay a schedule exactly.
 */
export interface Clock {
  /** The current time in epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` once after `ms` milliseconds.
   * @returns a handle for {@link Clock.clearTimeout}
   */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer set with {@link Clock.setTimeout}; a handle already fired or cleared is ignored. */
  clearTimeout(handle: unknown): void;
}

/** The system clock: `Date.now` and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Whether `value` has the shape of a {@link Clock} (three functions).
 * @returns true for a usable clock
 */
export function isClock(value: unknown): value is Clock {
  if (typeof value !== 'object' || value === null) return false;
  const clock = value as Record<string, unknown>;
  return (
    typeof clock.now === 'function' &&
    typeof clock.setTimeout === 'function' &&
    typeof clock.clearTimeout === 'function'
  );
}

/**
 * Resolves after `ms` milliseconds on `clock`.
 * @returns a promise that settles when the timer fires
 */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}
