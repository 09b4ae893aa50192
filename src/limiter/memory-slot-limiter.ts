import { type Clock, systemClock } from '../clock.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import {
  checkLeaseMs,
  checkLimit,
  checkPerSecond,
  DEFAULT_HOLDER_LEASE_MS,
  singleAcquire,
} from './limiter-arguments.js';
import type {
  AcquireManyResult,
  AcquireResult,
  AcquireStatus,
  RebuildOptions,
  ReleaseResult,
  SlotHolderSource,
  SlotHolders,
  SlotLimiter,
  SlotSignal,
} from './slot-limiter.js';

/** Options of {@link MemorySlotLimiter}. */
export interface MemorySlotLimiterOptions {
  /**
   * The clock leases are read from (default `Date.now`): give the queue's `clock` to run both on
   * one virtual time. Only its `now()` is used (the limiter sets no timers).
   */
  clock?: Pick<Clock, 'now'>;
  /**
   * Lease given to holders read from the holder source when the operation that found the key
   * new carries no lease of its own (`release`). Default 30,000 ms.
   */
  holderLeaseMs?: number;
  /** Where a listener's exception is reported (pino-compatible; silent by default). */
  logger?: Logger;
}

/** One key's slots, waiting line and stored settings. Mutated in place, never replaced. */
interface KeyState {
  /** jobId -> lease expiry (epoch ms). Expired leases still count until reclaimed. */
  slots: Map<string, number>;
  /** The waiting line: a Set iterates in insertion order, so it is FIFO with O(1) membership and removal. */
  waiting: Set<string>;
  limit: number;
  leaseMs: number;
  /** job id -> the job whose slot was passed to it ({@link MemorySlotLimiter.pass}), until its own slot is freed. */
  passed: Map<string, string>;
}

/**
 * A {@link SlotLimiter} that lives in this process: for one process (the demo, tests, a single
 * worker). It has exactly the semantics of `RedisSlotLimiter` from `outbound-queue/redis`, which
 * shares slots across processes.
 *
 * @example
 * ```ts
 * const limiter = new MemorySlotLimiter();
 * const first = await limiter.acquire('business-4', 'job-1', 1, 30_000); // { status: 'acquired', ... }
 * const second = await limiter.acquire('business-4', 'job-2', 1, 30_000); // { status: 'enqueued', ... }
 * const { promoted } = await limiter.release('business-4', 'job-1'); // ['job-2']: it holds the slot now
 * ```
 */
export class MemorySlotLimiter implements SlotLimiter {
  private readonly now: () => number;
  private readonly holderLeaseMs: number;
  private readonly logger: Logger;
  private readonly keys = new Map<string, KeyState>();
  private readonly initializing = new Map<string, Promise<KeyState>>();
  /** scope -> the next free dial-start instant (epoch ms, fractional). */
  private readonly nextStart = new Map<string, number>();
  private readonly listeners = new Set<(signal: SlotSignal) => void>();
  private source: SlotHolderSource | undefined;

  /**
   * @param options - clock, lease for holders read from the holder source, logger
   */
  constructor(options: MemorySlotLimiterOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.now = () => clock.now();
    this.holderLeaseMs = checkLeaseMs(options.holderLeaseMs ?? DEFAULT_HOLDER_LEASE_MS);
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Asks for a slot for `jobId` under `limit` concurrent holders of `key`; a newcomer never jumps
   * the waiting line.
   * @param key - limiter key (the business id)
   * @param jobId - the job that wants to dial
   * @param limit - maximum concurrent holders, stored for later promotions
   * @param leaseMs - lease of a slot granted now or later by promotion
   * @returns the outcome with the key's counters
   */
  async acquire(key: string, jobId: string, limit: number, leaseMs: number): Promise<AcquireResult> {
    return singleAcquire(await this.acquireMany(key, [jobId], limit, leaseMs));
  }

  /**
   * Asks for a slot for each of `jobIds`, in order, in one step.
   * @param key - limiter key (the business id)
   * @param jobIds - the jobs that want to dial, in line order
   * @param limit - maximum concurrent holders, stored for later promotions
   * @param leaseMs - lease of a slot granted now or later by promotion
   * @returns each job's outcome with the key's counters after the last one
   */
  async acquireMany(
    key: string,
    jobIds: readonly string[],
    limit: number,
    leaseMs: number,
  ): Promise<AcquireManyResult> {
    checkLimit(limit);
    checkLeaseMs(leaseMs);
    const state = await this.stateOf(key, leaseMs);
    state.limit = limit;
    state.leaseMs = leaseMs;
    const statuses = jobIds.map((jobId): AcquireStatus => {
      if (state.slots.has(jobId)) return 'inflight';
      if (state.waiting.has(jobId)) return 'already_queued';
      if (state.slots.size < limit && state.waiting.size === 0) {
        state.slots.set(jobId, this.now() + leaseMs);
        return 'acquired';
      }
      state.waiting.add(jobId);
      return 'enqueued';
    });
    return { statuses, active: state.slots.size, limit, queueLength: state.waiting.size };
  }

  /**
   * Frees the slot of `jobId` and hands free slots to the head of the waiting line. Idempotent.
   * @param key - limiter key
   * @param jobId - the job whose call ended
   * @param leaseMs - lease of holders' slots if the key has to be built from the holder source
   * @param _fence - ignored: this limiter's state is never rebuilt while the process lives
   * @returns whether a slot was freed, the promoted jobs in line order, and the counters
   */
  async release(key: string, jobId: string, leaseMs?: number, _fence?: number): Promise<ReleaseResult> {
    return this.freeSlot(await this.stateOf(key, leaseMs ?? this.holderLeaseMs), key, jobId);
  }

  /**
   * Frees the slot of `jobId` into a promotion only: when it holds a slot, a job waits and the
   * limit leaves room, as {@link MemorySlotLimiter.release} does, linking the promoted job to
   * `jobId` until its own slot is freed; otherwise nothing changes.
   * @param key - limiter key
   * @param jobId - the job whose call ended, its end not written yet
   * @returns as for release; `released` false and no promotion when nothing changed
   */
  async pass(key: string, jobId: string): Promise<ReleaseResult> {
    const state = await this.stateOf(key, this.holderLeaseMs);
    if (!state.slots.has(jobId) || state.waiting.size === 0 || state.slots.size - 1 >= state.limit) {
      const { limit } = state;
      return {
        released: false,
        promoted: [],
        active: state.slots.size,
        limit,
        queueLength: state.waiting.size,
      };
    }
    const result = this.freeSlot(state, key, jobId);
    const [first] = result.promoted;
    if (first !== undefined) state.passed.set(first, jobId);
    return result;
  }

  /**
   * The job whose slot was passed to `jobId`, while they are linked.
   * @param key - limiter key
   * @param jobId - a job promoted by a pass
   */
  async passedFrom(key: string, jobId: string): Promise<string | undefined> {
    return this.keys.get(key)?.passed.get(jobId);
  }

  private freeSlot(state: KeyState, key: string, jobId: string): ReleaseResult {
    const released = state.slots.delete(jobId);
    state.passed.delete(jobId);
    const promoted: string[] = [];
    const expiry = this.now() + state.leaseMs;
    for (const head of state.waiting) {
      if (state.slots.size >= state.limit) break;
      state.waiting.delete(head);
      state.slots.set(head, expiry);
      promoted.push(head);
    }
    if (promoted.length > 0) this.signal({ key, promoted: [...promoted] });
    return {
      released,
      promoted,
      active: state.slots.size,
      limit: state.limit,
      queueLength: state.waiting.size,
    };
  }

  /**
   * Extends the leases of the slots held by `jobIds`.
   * @param key - limiter key
   * @param jobIds - jobs this process believes it holds slots for
   * @param leaseMs - new lease length from now
   * @returns the ids among `jobIds` that hold no slot
   */
  async renew(key: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    checkLeaseMs(leaseMs);
    const state = await this.stateOf(key, leaseMs);
    const expiry = this.now() + leaseMs;
    const lost: string[] = [];
    for (const jobId of jobIds) {
      if (state.slots.has(jobId)) state.slots.set(jobId, expiry);
      else lost.push(jobId);
    }
    return lost;
  }

  /**
   * Drops jobs from the waiting line; slots are not touched.
   * @param key - limiter key
   * @param jobIds - jobs to drop
   * @returns how many were waiting and are now removed
   */
  async remove(key: string, jobIds: readonly string[]): Promise<number> {
    const state = this.keys.get(key);
    if (!state) return 0;
    let removed = 0;
    for (const jobId of jobIds) if (state.waiting.delete(jobId)) removed++;
    return removed;
  }

  /**
   * Reports slots whose lease expired and extends each by `leaseMs`, so one reconciler resolves it.
   * @param key - limiter key
   * @param leaseMs - extension given to each expired slot
   * @returns the expired slots' job ids, oldest lease first, each preceded by the job whose slot
   *   was passed to it (see {@link MemorySlotLimiter.pass}), if any
   */
  async reclaim(key: string, leaseMs: number): Promise<string[]> {
    checkLeaseMs(leaseMs);
    const state = this.keys.get(key);
    if (!state) return [];
    const now = this.now();
    const expired = [...state.slots]
      .filter(([, expiry]) => expiry <= now)
      // Same order as the Redis sorted set: by expiry, then by id.
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .map(([jobId]) => jobId);
    for (const jobId of expired) state.slots.set(jobId, now + leaseMs);
    return expired.flatMap((jobId) => {
      const from = state.passed.get(jobId);
      return from === undefined ? [jobId] : [from, jobId];
    });
  }

  /**
   * Replaces the key's slots with `state.holders` (fresh leases) and empties its waiting line.
   * The fencing token is not kept: this limiter's state lives as long as the process.
   * @param key - limiter key
   * @param state - the jobs that hold calls according to the database
   * @param limit - the key's limit
   * @param leaseMs - lease of the holders' slots and of later promotions
   * @param _options - ignored: this limiter grants no fencing tokens, so it holds no state made
   *   with another database
   */
  async rebuild(
    key: string,
    state: SlotHolders,
    limit: number,
    leaseMs: number,
    _options?: RebuildOptions,
  ): Promise<void> {
    checkLimit(limit);
    checkLeaseMs(leaseMs);
    const known = this.keys.get(key) ?? this.emptyState(key, leaseMs);
    known.slots.clear();
    known.waiting.clear();
    known.passed.clear();
    known.limit = limit;
    known.leaseMs = leaseMs;
    const expiry = this.now() + leaseMs;
    for (const jobId of state.holders) known.slots.set(jobId, expiry);
  }

  /**
   * Reserves the next free dial-start instant of `scope`, spaced `1000 / perSecond` ms apart.
   * @param scope - what the rate applies to (e.g. a provider account)
   * @param perSecond - dial starts allowed per second
   * @returns milliseconds to wait before dialing (0: dial now)
   */
  async reserveDialStart(scope: string, perSecond: number): Promise<number> {
    checkPerSecond(perSecond);
    const now = this.now();
    const start = Math.max(now, this.nextStart.get(scope) ?? now);
    this.nextStart.set(scope, start + 1000 / perSecond);
    return Math.ceil(start - now);
  }

  /**
   * Sets where the holders of a key seen for the first time in this process are read from.
   * @param source - reads the jobs that hold calls for a key
   */
  setHolderSource(source: SlotHolderSource): void {
    this.source = source;
  }

  /**
   * Listens to promotions (told asynchronously, after the promoting call's own result).
   * @param listener - called with each promotion
   * @returns a function that stops listening
   */
  subscribe(listener: (signal: SlotSignal) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Tells the listeners that `jobIds` hold slots their promoter will not dial (it is closing).
   * @param key - limiter key
   * @param jobIds - the promoted jobs handed over
   * @param fence - the fencing token of the promotion
   */
  async handOver(key: string, jobIds: readonly string[], fence?: number): Promise<void> {
    if (jobIds.length > 0) this.signal({ key, promoted: [...jobIds], handedOver: true, fence });
  }

  /** Drops every listener; the limiter holds no connections. */
  async close(): Promise<void> {
    this.listeners.clear();
  }

  private signal(signal: SlotSignal): void {
    if (this.listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of this.listeners) {
        try {
          listener(signal);
        } catch (err) {
          this.logger.error({ err, business_id: signal.key }, 'OUTBOUND_LIMITER_LISTENER_FAILED');
        }
      }
    });
  }

  private emptyState(key: string, leaseMs: number): KeyState {
    const state: KeyState = { slots: new Map(), waiting: new Set(), limit: 0, leaseMs, passed: new Map() };
    this.keys.set(key, state);
    return state;
  }

  /**
   * The state of `key`, created on first use from the holder source. Concurrent first uses share
   * one read of the source; a failed read leaves the key new so the next call tries again.
   */
  private stateOf(key: string, leaseMs: number): KeyState | Promise<KeyState> {
    const known = this.keys.get(key);
    if (known) return known;
    const source = this.source;
    if (!source) return this.emptyState(key, leaseMs);
    let pending = this.initializing.get(key);
    if (!pending) {
      pending = (async () => {
        try {
          const { holders } = await source(key);
          // A rebuild that ran while we read the source is newer than what we read: keep it.
          const rebuilt = this.keys.get(key);
          if (rebuilt) return rebuilt;
          const state = this.emptyState(key, leaseMs);
          const expiry = this.now() + leaseMs;
          for (const jobId of holders) state.slots.set(jobId, expiry);
          return state;
        } finally {
          this.initializing.delete(key);
        }
      })();
      this.initializing.set(key, pending);
    }
    return pending;
  }
}
