import type { Clock } from '../../src/clock.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
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
} from '../../src/limiter/slot-limiter.js';
import type { ProcessGate } from './process-gate.js';

/** The scope `reserveDialStart` is kept under, apart from the businesses' keys. */
const RATES = '\u0001rates';
/** How often a holder read through a process checks that the process is still alive (virtual ms). */
const CRASH_CHECK_MS = 100;

/**
 * The limiter's shared state (what Redis holds), one `MemorySlotLimiter` per scope so that the
 * state of one scope can be lost alone. The memory limiter fences as `RedisSlotLimiter` does: a
 * scope's state is built from the database's holders under a fencing token
 * (`JobStore.fenceSlots`), every grant carries it, and a release presenting the token of a state
 * since rebuilt changes nothing; a state lost here is built anew under a new token.
 */
export class SharedLimiterState {
  private readonly keys = new Map<string, MemorySlotLimiter>();
  private readonly views = new Set<LimiterView>();

  /**
   * @param clock - the virtual clock leases are read from
   * @param overGrant - grants this many slots beyond each limit: a deliberately broken limiter,
   *   for the test that shows the checkers can fail
   * @param ignoreLimits - a limiter broken another way: it never hears of group limits
   *   (`group`), or of business and group limits (`all`): only the others bind
   */
  constructor(
    private readonly clock: Clock,
    readonly overGrant = 0,
    readonly ignoreLimits: 'group' | 'all' | undefined = undefined,
  ) {}

  /** What the limiter keeps of a state read from the database (all of it, unless broken). */
  kept(state: SlotHolders): SlotHolders {
    if (this.ignoreLimits === 'group') return { ...state, groupLimit: null };
    if (this.ignoreLimits !== 'all') return state;
    return { ...state, groupLimit: null, members: state.members.map((m) => ({ ...m, limit: null })) };
  }

  /** What the limiter keeps of a change of limits (all of it, unless broken). */
  keptChange(change: LimitChange): LimitChange {
    if (this.ignoreLimits === 'group') return { ...change, group: undefined };
    return this.ignoreLimits === 'all' ? { run: change.run } : change;
  }

  /** The virtual clock's now (epoch ms). */
  now(): number {
    return this.clock.now();
  }

  /** Loses the state of one business, or of every business and the dial rate (Redis restarted empty). */
  lose(key?: string): void {
    if (key === undefined) {
      this.keys.clear();
    } else {
      this.keys.delete(key);
    }
  }

  /**
   * Replaces a key's state as a Redis rebuild script does (the memory limiter fences as Redis
   * does: with `ifNewer`, only over no state or one read under an older fence).
   */
  async rebuild(key: string, state: SlotHolders, leaseMs: number, options?: RebuildOptions): Promise<void> {
    await this.of(key).rebuild(key, this.kept(state), leaseMs, options);
  }

  /** @internal A process's view attaches itself to be told of promotions and to lend its holder source. */
  attach(view: LimiterView): void {
    this.views.add(view);
  }

  /** @internal */
  detach(view: LimiterView): void {
    this.views.delete(view);
  }

  /**
   * The state of `key`, built anew (from the database's holders, at first use) once lost. The
   * holders are read through the process whose call builds the state (as a Redis script's caller
   * rebuilds it): read through another process, a crash of that one would hang the state forever.
   */
  of(key: string, caller?: LimiterView): MemorySlotLimiter {
    let limiter = this.keys.get(key);
    if (limiter) return limiter;
    limiter = new MemorySlotLimiter({ clock: this.clock });
    // Any live process's source reads the same database; the caller's first (a crashed one's hangs).
    limiter.setHolderSource(async (k): Promise<SlotHolders> => {
      const view = caller?.canRead() ? caller : [...this.views].find((v) => v.canRead());
      if (!view) throw new Error('no live process to read the holders');
      return this.kept(await this.whileAlive(view, view.readHolders(k)));
    });
    limiter.subscribe((signal) => {
      for (const view of this.views) view.tell(signal);
    });
    this.keys.set(key, limiter);
    return limiter;
  }

  /**
   * `read`, or a rejection once the reading process crashed: its read never answers, and the
   * calls of other processes that joined it must not hang with it (a failed read leaves the key
   * without state, so the next call reads again, as a Redis caller's own rebuild would).
   */
  private whileAlive<T>(view: LimiterView, read: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      let timer: unknown;
      const check = () => {
        if (view.canRead()) timer = this.clock.setTimeout(check, CRASH_CHECK_MS);
        else reject(new Error('the process reading the holders crashed'));
      };
      timer = this.clock.setTimeout(check, CRASH_CHECK_MS);
      read.then(
        (value) => {
          this.clock.clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          this.clock.clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** The dial-rate reservations (lost with the whole state). */
  rates(): MemorySlotLimiter {
    return this.of(RATES);
  }
}

/**
 * One simulated process's connection to the {@link SharedLimiterState}: a {@link SlotLimiter}
 * whose every call goes through the process's gate (latency, outages, crash).
 */
export class LimiterView implements SlotLimiter {
  private source: SlotHolderSource | undefined;
  private readonly listeners = new Set<(signal: SlotSignal) => void>();

  /**
   * @param shared - the state every process shares
   * @param gate - this process's gate to the limiter
   * @param alive - whether this process still runs (a crashed one lends no holder source)
   * @param granted - told of each slot this view's calls granted (an acquire's, or promoted by a
   *   release, a pass or a change of limits), with when the call began: the grant was decided
   *   at that instant or after
   */
  constructor(
    private readonly shared: SharedLimiterState,
    private readonly gate: ProcessGate,
    private readonly alive: () => boolean,
    private readonly granted: (jobIds: readonly string[], since: number) => void = () => {},
  ) {
    shared.attach(this);
  }

  /** @internal */
  canRead(): boolean {
    return this.source !== undefined && this.alive();
  }

  /** @internal */
  readHolders(key: string): Promise<SlotHolders> {
    if (!this.source) throw new Error('no holder source');
    return this.source(key);
  }

  /** @internal */
  tell(signal: SlotSignal): void {
    if (!this.alive()) return;
    for (const listener of this.listeners) listener(signal);
  }

  async acquire(key: string, jobId: string, ask: SlotAsk, leaseMs: number): Promise<AcquireResult> {
    const { statuses, ...levels } = await this.acquireMany(key, [jobId], ask, leaseMs);
    return { status: statuses[0] as AcquireResult['status'], ...levels };
  }

  async acquireMany(
    key: string,
    jobIds: readonly string[],
    ask: SlotAsk,
    leaseMs: number,
  ): Promise<AcquireManyResult> {
    const broken = { ...ask, runLimit: ask.runLimit + this.shared.overGrant };
    const since = this.shared.now();
    const result = await this.gate.run(() =>
      this.answer(key, (s) => s.acquireMany(key, jobIds, broken, leaseMs)),
    );
    this.granted(
      jobIds.filter((_, i) => result.statuses[i] === 'acquired'),
      since,
    );
    return result;
  }

  async setLimits(key: string, asked: LimitChange): Promise<LimitsResult> {
    const since = this.shared.now();
    const change = this.shared.keptChange(asked);
    const result = await this.gate.run(() => this.answer(key, (s) => s.setLimits(key, change)));
    this.granted(result.promoted, since);
    return result;
  }

  async release(key: string, jobId: string, leaseMs?: number, fence?: number): Promise<ReleaseResult> {
    const since = this.shared.now();
    const result = await this.gate.run(() => this.answer(key, (s) => s.release(key, jobId, leaseMs, fence)));
    this.granted(result.promoted, since);
    return result;
  }

  async pass(key: string, jobId: string): Promise<ReleaseResult> {
    const since = this.shared.now();
    const result = await this.gate.run(() => this.answer(key, (s) => s.pass(key, jobId)));
    this.granted(result.promoted, since);
    return result;
  }

  passedFrom(key: string, jobId: string): Promise<string | undefined> {
    return this.gate.run(() => this.shared.of(key, this).passedFrom(key, jobId));
  }

  renew(key: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    return this.gate.run(() => this.shared.of(key, this).renew(key, jobIds, leaseMs));
  }

  remove(key: string, jobIds: readonly string[], retire?: string): Promise<number> {
    return this.gate.run(() => this.shared.of(key, this).remove(key, jobIds, retire));
  }

  reclaim(key: string, leaseMs: number): Promise<string[]> {
    return this.gate.run(() => this.shared.of(key, this).reclaim(key, leaseMs));
  }

  rebuild(key: string, state: SlotHolders, leaseMs: number, options?: RebuildOptions): Promise<void> {
    return this.gate.run(() => this.shared.rebuild(key, state, leaseMs, options));
  }

  reserveDialStart(key: string, rates: readonly DialRate[]): Promise<number> {
    return this.gate.run(() => this.shared.rates().reserveDialStart(key, rates));
  }

  setHolderSource(source: SlotHolderSource): void {
    this.source = source;
  }

  subscribe(listener: (signal: SlotSignal) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.shared.detach(this);
  }

  /** Runs `op` on the key's state (its answer carries that state's fence, as Redis's does). */
  private answer<R extends object>(key: string, op: (state: MemorySlotLimiter) => Promise<R>): Promise<R> {
    return op(this.shared.of(key, this));
  }
}
