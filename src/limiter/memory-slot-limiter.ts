import { type Clock, systemClock } from '../clock.js';
import { ScopeMovedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import {
  checkAsk,
  checkLeaseMs,
  checkLimitChange,
  checkRates,
  DEFAULT_HOLDER_LEASE_MS,
  singleAcquire,
} from './limiter-arguments.js';
import { describeScope } from './limiter-scope.js';
import { ScopeState } from './scope-state.js';
import type {
  AcquireManyResult,
  AcquireResult,
  DialRate,
  LimitChange,
  LimitsResult,
  RebuildOptions,
  ReleaseResult,
  SlotAsk,
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

/**
 * A {@link SlotLimiter} that lives in this process: for one process (the demo, tests, a single
 * worker). It has exactly the semantics of `RedisSlotLimiter` from `outbound-queue/redis`, which
 * shares slots across processes: both share slots by one rule (see `SlotLimiter`). With a holder
 * source (as `OutboundQueue` sets) it fences as Redis does: a scope's state is read from the
 * database under a fencing token, its grants carry it, and a rebuild (a business joined or left
 * the scope) makes the grants of the state before it fail their claims.
 *
 * @example
 * ```ts
 * const limiter = new MemorySlotLimiter();
 * const ask = { business: '4', run: 'run-1', runLimit: 1 };
 * const first = await limiter.acquire('4', 'job-1', ask, 30_000); // { status: 'acquired', ... }
 * const second = await limiter.acquire('4', 'job-2', ask, 30_000); // { status: 'enqueued', ... }
 * const { promoted } = await limiter.release('4', 'job-1'); // ['job-2']: it holds the slot now
 * ```
 */
export class MemorySlotLimiter implements SlotLimiter {
  private readonly now: () => number;
  private readonly holderLeaseMs: number;
  private readonly logger: Logger;
  private readonly scopes = new Map<string, ScopeState>();
  private readonly initializing = new Map<string, Promise<ScopeState>>();
  /** Rate name -> the next free dial-start instant (epoch ms, fractional). */
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
   * Asks for a slot for `jobId` of `ask.run`; a newcomer never jumps a job that could use it.
   * @param key - limiter scope
   * @param jobId - the job that wants to dial
   * @param ask - the job's business and run, the run's limit and weight
   * @param leaseMs - lease of a slot granted now or later by promotion
   * @returns the outcome with the job's levels
   */
  async acquire(key: string, jobId: string, ask: SlotAsk, leaseMs: number): Promise<AcquireResult> {
    return singleAcquire(await this.acquireMany(key, [jobId], ask, leaseMs));
  }

  /**
   * Asks for a slot for each of `jobIds` of one run, in order, in one step.
   * @param key - limiter scope
   * @param jobIds - the jobs that want to dial, in line order
   * @param ask - the jobs' business and run, the run's limit and weight
   * @param leaseMs - lease of a slot granted now or later by promotion
   * @returns each job's outcome with the levels after the last one
   * @throws ScopeMovedError when the holder source says `ask.business` is not a member of `key`
   */
  async acquireMany(
    key: string,
    jobIds: readonly string[],
    ask: SlotAsk,
    leaseMs: number,
  ): Promise<AcquireManyResult> {
    checkAsk(ask);
    checkLeaseMs(leaseMs);
    const scope = await this.memberState(key, ask.business, leaseMs);
    scope.leaseMs = leaseMs;
    const { statuses, others, levels } = scope.ask(jobIds, ask, this.now() + leaseMs);
    if (others.length > 0) this.signal({ key, promoted: [...others] });
    return { statuses, promoted: others, ...levels };
  }

  /**
   * Changes limits live and promotes waiting jobs into any room made.
   * @param key - limiter scope
   * @param change - the limits to set
   * @returns the promoted jobs
   * @throws ScopeMovedError when the holder source says `change.business` is not a member
   */
  async setLimits(key: string, change: LimitChange): Promise<LimitsResult> {
    checkLimitChange(change);
    const business = change.business?.id ?? change.run?.business;
    const scope =
      business === undefined
        ? await this.stateOf(key, this.holderLeaseMs)
        : await this.memberState(key, business, this.holderLeaseMs);
    const promoted = scope.setLimits(change, this.now() + scope.leaseMs);
    if (promoted.length > 0) this.signal({ key, promoted: [...promoted] });
    return scope.fence === undefined ? { promoted } : { promoted, fence: scope.fence };
  }

  /**
   * Frees the slot of `jobId` and promotes waiting jobs into it. Idempotent.
   * @param key - limiter scope
   * @param jobId - the job whose call ended
   * @param leaseMs - lease of holders' slots if the scope has to be built from the holder source
   * @param fence - the token of a grant given back unused: with another token in the state (it
   *   was rebuilt since: a business joined or left the scope), nothing changes
   * @returns whether a slot was freed, the promoted jobs, and the freed job's levels
   */
  async release(key: string, jobId: string, leaseMs?: number, fence?: number): Promise<ReleaseResult> {
    const scope = await this.stateOf(key, leaseMs ?? this.holderLeaseMs);
    if (fence !== undefined && scope.fence !== undefined && fence !== scope.fence)
      return { released: false, promoted: [], ...scope.levelsOf(undefined) };
    return this.free(key, jobId, leaseMs ?? this.holderLeaseMs, false);
  }

  /**
   * Frees the slot of `jobId` into a promotion only, linking the first promoted job to it until
   * its own slot is freed; otherwise nothing changes.
   * @param key - limiter scope
   * @param jobId - the job whose call ended, its end not written yet
   * @returns as for release; `released` false and no promotion when nothing changed
   */
  async pass(key: string, jobId: string): Promise<ReleaseResult> {
    return this.free(key, jobId, this.holderLeaseMs, true);
  }

  /**
   * The job whose slot was passed to `jobId`, while they are linked.
   * @param key - limiter scope
   * @param jobId - a job promoted by a pass
   */
  async passedFrom(key: string, jobId: string): Promise<string | undefined> {
    return this.scopes.get(key)?.passed.get(jobId);
  }

  private async free(key: string, jobId: string, leaseMs: number, passOnly: boolean): Promise<ReleaseResult> {
    const scope = await this.stateOf(key, leaseMs);
    const { released, promoted, levels } = scope.free(jobId, this.now() + scope.leaseMs, passOnly);
    if (promoted.length > 0) this.signal({ key, promoted: [...promoted] });
    return { released, promoted, ...levels };
  }

  /**
   * Extends the leases of the slots held by `jobIds`.
   * @param key - limiter scope
   * @param jobIds - jobs this process believes it holds slots for
   * @param leaseMs - new lease length from now
   * @returns the ids among `jobIds` that hold no slot
   */
  async renew(key: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    checkLeaseMs(leaseMs);
    const scope = await this.stateOf(key, leaseMs);
    const expiry = this.now() + leaseMs;
    const lost: string[] = [];
    for (const jobId of jobIds) {
      const slot = scope.slots.get(jobId);
      if (slot) slot.expiry = expiry;
      else lost.push(jobId);
    }
    return lost;
  }

  /**
   * Drops jobs from their lines; slots are not touched.
   * @param key - limiter scope
   * @param jobIds - jobs to drop
   * @param retire - a run whose feeder stopped, forgotten once idle
   * @returns how many were waiting and are now removed
   */
  async remove(key: string, jobIds: readonly string[], retire?: string): Promise<number> {
    return this.scopes.get(key)?.remove(jobIds, retire) ?? 0;
  }

  /**
   * Reports slots whose lease expired and extends each by `leaseMs`, so one reconciler resolves it.
   * @param key - limiter scope
   * @param leaseMs - extension given to each expired slot
   * @returns the expired slots' job ids, oldest lease first, each preceded by the job whose slot
   *   was passed to it (see {@link MemorySlotLimiter.pass}), if any
   */
  async reclaim(key: string, leaseMs: number): Promise<string[]> {
    checkLeaseMs(leaseMs);
    const scope = this.scopes.get(key);
    if (!scope) return [];
    const now = this.now();
    const expired = [...scope.slots]
      .filter(([, slot]) => slot.expiry <= now)
      // Same order as the Redis sorted set: by expiry, then by id.
      .sort(([a, x], [b, y]) => x.expiry - y.expiry || (a < b ? -1 : a > b ? 1 : 0));
    for (const [, slot] of expired) slot.expiry = now + leaseMs;
    return expired.flatMap(([jobId]) => {
      const from = scope.passed.get(jobId);
      return from === undefined ? [jobId] : [from, jobId];
    });
  }

  /**
   * Replaces the scope's state with `state` (holders with fresh leases, no lines).
   * @param key - limiter scope
   * @param state - members, limits and holders according to the database
   * @param leaseMs - lease of the holders' slots and of later promotions
   * @param options - `ifNewer`: only over no state or a state read under an older fence (a
   *   rebuild from a newer read of the database stays)
   * @returns whether the state was replaced
   */
  async rebuild(
    key: string,
    state: SlotHolders,
    leaseMs: number,
    options: RebuildOptions = {},
  ): Promise<boolean> {
    checkLeaseMs(leaseMs);
    const known = this.scopes.get(key);
    if (options.ifNewer && known?.fence !== undefined && known.fence >= state.fence) return false;
    this.scopes.set(key, ScopeState.fromHolders(state, leaseMs, this.now() + leaseMs, !this.source));
    return true;
  }

  /**
   * Reserves the first instant at which every rate of `rates` has a free turn, spaced
   * `1000 / perSecond` ms apart per rate.
   * @param key - limiter scope the rates belong to
   * @param rates - the rates the dial is under
   * @returns milliseconds to wait before dialing (0: dial now)
   */
  async reserveDialStart(key: string, rates: readonly DialRate[]): Promise<number> {
    checkRates(rates);
    const now = this.now();
    const names = rates.map((rate) => `${key}\u0001${rate.name}`);
    const start = Math.max(now, ...names.map((name) => this.nextStart.get(name) ?? now));
    for (const [i, rate] of rates.entries())
      this.nextStart.set(names[i] as string, start + 1000 / rate.perSecond);
    return Math.ceil(start - now);
  }

  /**
   * Sets where the state of a scope seen for the first time in this process is read from.
   * @param source - reads a scope's members, limits and holders
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
   * @param key - limiter scope
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
          this.logger.error({ err, scope: signal.key }, 'OUTBOUND_LIMITER_LISTENER_FAILED');
        }
      }
    });
  }

  /**
   * The state of `key`, checked to hold `business`: a business it does not know makes it read
   * the holder source again (the business may have joined since), and a source that does not
   * list it either means the business belongs elsewhere.
   */
  private async memberState(key: string, business: string, leaseMs: number): Promise<ScopeState> {
    const known = await this.stateOf(key, leaseMs);
    if (known.isMember(business) || !this.source) return known;
    // The read raised the members' fences: the state is replaced by it either way, or every
    // grant of the old one would fail its claim.
    const state = await this.source(key);
    await this.rebuild(key, state, known.leaseMs, { ifNewer: true });
    if (!state.members.some((member) => member.business === business))
      throw new ScopeMovedError(business, describeScope(key));
    return this.scopes.get(key) as ScopeState;
  }

  /**
   * The state of `key`, created on first use from the holder source. Concurrent first uses share
   * one read of the source; a failed read leaves the scope new so the next call tries again.
   */
  private stateOf(key: string, leaseMs: number): ScopeState | Promise<ScopeState> {
    const known = this.scopes.get(key);
    if (known) return known;
    const source = this.source;
    if (!source) {
      const scope = new ScopeState(leaseMs, true);
      this.scopes.set(key, scope);
      return scope;
    }
    let pending = this.initializing.get(key);
    if (!pending) {
      pending = (async () => {
        try {
          const state = await source(key);
          // A rebuild that ran while we read the source is newer than what we read: keep it.
          const rebuilt = this.scopes.get(key);
          if (rebuilt) return rebuilt;
          const scope = ScopeState.fromHolders(state, leaseMs, this.now() + leaseMs, false);
          this.scopes.set(key, scope);
          return scope;
        } finally {
          this.initializing.delete(key);
        }
      })();
      this.initializing.set(key, pending);
    }
    return pending;
  }
}
