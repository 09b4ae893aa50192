import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import {
  checkAsk,
  checkLeaseMs,
  checkLimitChange,
  checkRates,
  DEFAULT_HOLDER_LEASE_MS,
  singleAcquire,
} from '../limiter-arguments.js';
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
} from '../slot-limiter.js';
import { type NodeEvictionPolicy, warnUnlessNoEviction } from './redis-eviction-policy.js';
import { type RedisSlotKeyNames, slotKeyNames } from './redis-key-names.js';
import { RedisKeyState } from './redis-key-state.js';
import { replyIds, replyInt, replyLevels, replyStatuses } from './redis-script-replies.js';
import { type ScriptCaller, SlotScripts } from './redis-scripts.js';
import { RedisSignalChannel } from './redis-signal-channel.js';
import type { RedisSlotLimiterOptions } from './redis-slot-limiter-options.js';

export type { RedisSlotLimiterOptions } from './redis-slot-limiter-options.js';

/**
 * A {@link SlotLimiter} in Redis, shared by every process that uses the same Redis (or Redis
 * Cluster), with exactly the semantics of `MemorySlotLimiter` (the sharing rule of `ScopeState`,
 * in Lua, step for step). Each operation is one Lua script, one round trip, on one Cluster slot
 * (every key of a scope shares its hash tag); lease times come from Redis's clock so processes
 * agree on them. A promotion is told to the limiter instance that asked for the promoted job: by
 * the script's PUBLISH on `<prefix>:signals` when another instance made it, in-process when the
 * same one did. {@link RedisSlotLimiter.subscribe} listeners hear both.
 *
 * If Redis loses a scope's state (restarted empty, flushed, or a key evicted: `meta` keeps how
 * many members each key has, each run how many jobs its line has, and other counts mean a loss),
 * the next acquire, release, renew or setLimits rebuilds it from the holder source (the database)
 * before answering, so the limits hold. The rebuild raises the scope's fencing token in the
 * database, and grants carry the token: a grant made before the loss cannot be claimed after it.
 * The lines are not rebuilt: a job that waited must acquire again (it is answered `enqueued`). On
 * first use the limiter reads `maxmemory-policy` (see {@link RedisSlotLimiter.checkEvictionPolicy}).
 *
 * A scope's state lists its member businesses (read from the database); an ask for another
 * business makes the limiter read the database again: a business that joined since is admitted
 * by a rebuild, one that belongs elsewhere is refused with `ScopeMovedError`. A state made with
 * another database (one Redis used with two databases, or a database restored from a backup)
 * carries a fence the database is behind: its grants fail their claims, and the engine replaces
 * it ({@link RedisSlotLimiter.rebuild} with `ifNewer`, under a fence the database raised above it).
 *
 * Keys: `<prefix>:{<scope>}:…` (see {@link RedisSlotKeyNames}); `%`, `{`, `}` and NUL in a scope
 * are written `%25`, `%7B`, `%7D` and `%00` (a group's scope reads `{%00<group>}`).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisSlotLimiter } from 'outbound-queue/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL!);
 * const limiter = new RedisSlotLimiter({ redis });
 * const ask = { business: 'business-4', run: 'run-1', runLimit: 3 };
 * const slot = await limiter.acquire('business-4', 'job-1', ask, 30_000);
 * if (slot.status === 'acquired') {
 *   // dial; when the call ends:
 *   const { promoted } = await limiter.release('business-4', 'job-1');
 * }
 * await limiter.setLimits('business-4', { business: { id: 'business-4', limit: 5 } });
 * await limiter.close(); // closes only the subscriber connection it opened
 * ```
 */
export class RedisSlotLimiter implements SlotLimiter {
  private readonly scripts: SlotScripts;
  private readonly prefix: string;
  private readonly holderLeaseMs: number;
  private readonly signals: RedisSignalChannel;
  private readonly redis: Redis | Cluster;
  private readonly logger: Logger;
  private evictionCheck: Promise<NodeEvictionPolicy[]> | undefined;
  /** This instance's id: promotions of jobs it asked for are told to its listeners, not published. */
  private readonly instanceId = randomUUID();
  /** The scopes' states in Redis, rebuilt from the holder source when lost. */
  private readonly state: RedisKeyState;

  /**
   * @param options - the host's connection, key prefix, optional subscriber connection
   * @throws ValidationError when the prefix contains a hash-tag brace
   */
  constructor(options: RedisSlotLimiterOptions) {
    this.prefix = options.prefix ?? 'oq';
    if (/[{}]/.test(this.prefix)) {
      throw new ValidationError([
        { field: 'prefix', message: 'must not contain { or } (they make hash tags)' },
      ]);
    }
    this.holderLeaseMs = checkLeaseMs(options.holderLeaseMs ?? DEFAULT_HOLDER_LEASE_MS);
    this.redis = options.redis;
    this.logger = options.logger ?? silentLogger;
    this.scripts = new SlotScripts(options.redis);
    this.state = new RedisKeyState(this.scripts, (key) => this.names(key));
    this.signals = new RedisSignalChannel({
      channel: this.channel,
      redis: options.redis,
      subscriber: options.subscriber,
      logger: this.logger,
    });
  }

  /**
   * Reads Redis's `maxmemory-policy` (each master's on a Cluster), once per limiter; the first
   * operation on a scope starts it. Warns once through the logger (`OUTBOUND_REDIS_EVICTION_POLICY`)
   * unless every node answers `noeviction`; a node that tells neither by `CONFIG GET` nor by
   * `INFO memory` is logged at debug level.
   * @returns what each node answered; never rejects
   */
  checkEvictionPolicy(): Promise<NodeEvictionPolicy[]> {
    this.evictionCheck ??= warnUnlessNoEviction(this.redis, this.logger);
    return this.evictionCheck;
  }

  /** The pub/sub channel promotions are published on (`<prefix>:signals`). */
  get channel(): string {
    return `${this.prefix}:signals`;
  }

  /**
   * The Redis keys of one limiter scope, all with the same hash tag.
   * @param key - limiter scope (a business id, or a group's scope)
   * @returns the scope's key names
   */
  keyNames(key: string): RedisSlotKeyNames {
    return slotKeyNames(this.prefix, key);
  }

  /**
   * Asks for a slot for `jobId` of `ask.run` (see {@link RedisSlotLimiter.acquireMany}).
   * @param key - limiter scope
   * @param jobId - the job that wants to dial
   * @param ask - the job's business and run, the run's limit and weight (for a run not known yet)
   * @param leaseMs - lease of a slot granted now or later by promotion
   * @returns the outcome with the job's levels
   * @throws ScopeMovedError when the holder source says `ask.business` is not a member of `key`
   */
  async acquire(key: string, jobId: string, ask: SlotAsk, leaseMs: number): Promise<AcquireResult> {
    return singleAcquire(await this.acquireMany(key, [jobId], ask, leaseMs));
  }

  /**
   * Asks for a slot for each of `jobIds` of one run, in order, in one script (one round trip;
   * three or more when the scope is rebuilt first).
   * @param key - limiter scope
   * @param jobIds - the jobs that want to dial, in line order
   * @param ask - the jobs' business and run, the run's limit and weight (for a run not known yet)
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
    const k = this.names(key);
    const reply = await this.state.withState(
      key,
      leaseMs,
      'acquire',
      () => this.scripts.acquire(k, key, jobIds, ask, leaseMs, this.caller()),
      ask.business,
    );
    this.deliver(key, replyIds(reply[4], 'acquire'));
    return {
      statuses: replyStatuses(reply[2]),
      promoted: replyIds(reply[3], 'acquire'),
      ...replyLevels(reply[1], 'acquire'),
    };
  }

  /**
   * Changes limits live and promotes waiting jobs into any room made, in one script.
   * @param key - limiter scope
   * @param change - the limits to set
   * @returns the promoted jobs, in the order chosen, and the scope's fencing token
   * @throws ScopeMovedError when the holder source says the business of the change is not a member
   */
  async setLimits(key: string, change: LimitChange): Promise<LimitsResult> {
    checkLimitChange(change);
    const k = this.names(key);
    const member = change.business?.id ?? change.run?.business;
    const reply = await this.state.withState(
      key,
      this.holderLeaseMs,
      'set-limits',
      () => this.scripts.setLimits(k, key, change, member, this.caller()),
      member,
    );
    this.deliver(key, replyIds(reply[2], 'set-limits'));
    return { promoted: replyIds(reply[1], 'set-limits'), fence: replyInt(reply[3], 'set-limits') };
  }

  /**
   * Frees the slot of `jobId` and promotes waiting jobs into the room, telling the instances
   * that asked for the promoted jobs in the same script (see the class notes). Idempotent.
   * @param key - limiter scope
   * @param jobId - the job whose call ended
   * @param leaseMs - lease of holders' slots if the scope has to be built from the holder source
   * @param fence - the token of a grant given back unused: with another token in the state, nothing changes
   * @returns whether a slot was freed, the promoted jobs, and the freed job's levels
   */
  async release(key: string, jobId: string, leaseMs?: number, fence?: number): Promise<ReleaseResult> {
    return this.runRelease(key, jobId, leaseMs, fence, false);
  }

  /**
   * Frees the slot of `jobId` into a promotion only, linking the first promoted job to it until
   * its own slot is freed; otherwise nothing changes. One round trip.
   * @param key - limiter scope
   * @param jobId - the job whose call ended, its end not written yet
   * @returns as for release; `released` false and no promotion when nothing changed
   */
  async pass(key: string, jobId: string): Promise<ReleaseResult> {
    return this.runRelease(key, jobId, undefined, undefined, true);
  }

  /**
   * The job whose slot was passed to `jobId`, while they are linked (one `HGET`).
   * @param key - limiter scope
   * @param jobId - a job promoted by a pass
   */
  async passedFrom(key: string, jobId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.names(key).passed, jobId)) ?? undefined;
  }

  private async runRelease(
    key: string,
    jobId: string,
    leaseMs: number | undefined,
    fence: number | undefined,
    pass: boolean,
  ): Promise<ReleaseResult> {
    const k = this.names(key);
    const lease = leaseMs === undefined ? this.holderLeaseMs : checkLeaseMs(leaseMs);
    const reply = await this.state.withState(key, lease, 'release', () =>
      this.scripts.release(k, key, jobId, fence, pass, this.caller()),
    );
    this.deliver(key, replyIds(reply[3], 'release'));
    return {
      released: replyInt(reply[0], 'release') === 1,
      promoted: replyIds(reply[2], 'release'),
      ...replyLevels(reply[1], 'release'),
    };
  }

  /**
   * Publishes that `jobIds` hold slots their promoter will not dial (it is closing), to every
   * instance: the one whose feeder waits for a job dials it.
   * @param key - limiter scope
   * @param jobIds - the promoted jobs handed over
   * @param fence - the fencing token of the promotion
   */
  async handOver(key: string, jobIds: readonly string[], fence?: number): Promise<void> {
    if (jobIds.length === 0) return;
    const signal: SlotSignal = { key, promoted: [...jobIds], handedOver: true, fence };
    await this.redis.publish(this.channel, JSON.stringify(signal));
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
    const k = this.names(key);
    const reply = await this.state.withState(key, leaseMs, 'renew', () =>
      this.scripts.renew(k, jobIds, leaseMs),
    );
    return replyIds(reply[1], 'renew');
  }

  /**
   * Drops jobs from their lines; slots are not touched.
   * @param key - limiter scope
   * @param jobIds - jobs to drop
   * @param retire - a run whose feeder stopped, forgotten once idle
   * @returns how many were waiting and are now removed
   */
  async remove(key: string, jobIds: readonly string[], retire?: string): Promise<number> {
    if (jobIds.length === 0 && retire === undefined) return 0;
    return replyInt(await this.scripts.remove(this.names(key), jobIds, retire), 'remove');
  }

  /**
   * Reports slots whose lease expired and extends each by `leaseMs`, so one reconciler resolves it.
   * @param key - limiter scope
   * @param leaseMs - extension given to each expired slot
   * @returns the expired slots' job ids, oldest lease first, each preceded by the job whose slot
   *   was passed to it (see {@link RedisSlotLimiter.pass}), if any
   */
  async reclaim(key: string, leaseMs: number): Promise<string[]> {
    checkLeaseMs(leaseMs);
    return replyIds(await this.scripts.reclaim(this.names(key), leaseMs), 'reclaim');
  }

  /**
   * Replaces the scope's state with `state`: members and limits, holders with fresh leases under
   * the fencing token `state.fence`, no lines.
   * @param key - limiter scope
   * @param state - what the database read
   * @param leaseMs - lease of the holders' slots and of later promotions
   * @param options - `ifNewer`: only over no state or a state with an older fence (a rebuild by
   *   another process from a newer read of the database stays)
   * @returns whether the state was replaced
   */
  async rebuild(
    key: string,
    state: SlotHolders,
    leaseMs: number,
    options: RebuildOptions = {},
  ): Promise<boolean> {
    checkLeaseMs(leaseMs);
    return this.state.rebuild(key, state, leaseMs, { ifNewer: options.ifNewer ?? false });
  }

  /**
   * Reserves the first instant at which every rate of `rates` has a free turn, across all
   * processes, spaced `1000 / perSecond` ms apart per rate (one script, one Cluster slot: the
   * rates live under the scope's hash tag).
   * @param key - limiter scope the rates belong to
   * @param rates - the rates the dial is under
   * @returns milliseconds to wait before dialing (0: dial now)
   */
  async reserveDialStart(key: string, rates: readonly DialRate[]): Promise<number> {
    checkRates(rates);
    const reply = await this.scripts.reserveDialStart(this.names(key), rates);
    return Math.max(0, replyInt(reply, 'reserve-dial-start'));
  }

  /**
   * Sets where the state of a scope without one (or without a business asked for) is read from.
   * @param source - reads a scope's members, limits and holders
   */
  setHolderSource(source: SlotHolderSource): void {
    this.state.setSource(source);
  }

  /**
   * Listens to promotions made by any process (this one included). All listeners of the limiter
   * share one subscriber connection. A promotion of a job this instance asked for is told to its
   * listeners in-process, by the call that made it (whoever makes it, only the instance that
   * waits for the job hears of it).
   * @param listener - called with each promotion
   * @returns a function that stops listening
   */
  subscribe(listener: (signal: SlotSignal) => void): () => void {
    return this.signals.add(listener);
  }

  /**
   * Resolves once the subscription made by {@link RedisSlotLimiter.subscribe} is active.
   * Promotions published earlier are not received.
   * @returns a promise that settles when subscribed (at once when nobody subscribed)
   */
  whenSubscribed(): Promise<void> {
    return this.signals.whenSubscribed();
  }

  /** Closes the subscriber connection the limiter opened itself; the host's connections stay open. */
  async close(): Promise<void> {
    await this.signals.close();
  }

  /** Tells this instance's listeners of promotions of jobs it asked for (the scripts did not publish them). */
  private deliver(key: string, own: string[]): void {
    if (own.length > 0) this.signals.deliver({ key, promoted: own });
  }

  private caller(): ScriptCaller {
    return { instance: this.instanceId, channel: this.channel, acceptAny: this.state.acceptAny };
  }

  private names(key: string): RedisSlotKeyNames {
    // An empty hash tag ({}) is ignored by Redis Cluster: the keys would land on different slots.
    if (key.length === 0) throw new ValidationError([{ field: 'key', message: 'must not be empty' }]);
    if (!this.evictionCheck) void this.checkEvictionPolicy();
    return this.keyNames(key);
  }
}
