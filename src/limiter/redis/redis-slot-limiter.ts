import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import {
  checkLeaseMs,
  checkLimit,
  checkPerSecond,
  DEFAULT_HOLDER_LEASE_MS,
  singleAcquire,
} from '../limiter-arguments.js';
import type {
  AcquireManyResult,
  AcquireResult,
  AcquireStatus,
  ReleaseResult,
  SlotHolderSource,
  SlotHolders,
  SlotLimiter,
  SlotSignal,
} from '../slot-limiter.js';
import { type NodeEvictionPolicy, warnUnlessNoEviction } from './redis-eviction-policy.js';
import { escapeTag, type RedisSlotKeyNames, slotKeyNames } from './redis-key-names.js';
import { RedisKeyState } from './redis-key-state.js';
import {
  releaseResult,
  replyIds,
  replyInt,
  replyList,
  type SlotScripts,
  slotScripts,
} from './redis-scripts.js';
import { RedisSignalChannel } from './redis-signal-channel.js';

/** Options of {@link RedisSlotLimiter}. */
export interface RedisSlotLimiterOptions {
  /** The host's ioredis connection (`Redis` or `Cluster`); the limiter never closes it. */
  redis: Redis | Cluster;
  /** Prefix of every key and of the signal channel (default `oq`); no `{` or `}`. */
  prefix?: string;
  /**
   * A connection for pub/sub, owned by the host and dedicated to subscriptions. Without it the
   * limiter opens one with `redis.duplicate()` on the first {@link RedisSlotLimiter.subscribe},
   * and closes it in {@link RedisSlotLimiter.close}.
   */
  subscriber?: Redis | Cluster;
  /**
   * Lease given to holders read from the holder source when the operation that found the key
   * without state carries no lease of its own (`release`). Default 30,000 ms.
   */
  holderLeaseMs?: number;
  /** Where subscription problems are reported (pino-compatible; silent by default). */
  logger?: Logger;
}

const ACQUIRE_STATUSES: Record<number, AcquireStatus> = {
  1: 'acquired',
  2: 'enqueued',
  3: 'already_queued',
  4: 'inflight',
};

/**
 * A {@link SlotLimiter} in Redis, shared by every process that uses the same Redis (or Redis
 * Cluster). Each operation is one Lua script, one round trip; lease times come from Redis's clock
 * so processes agree on them. A promotion is told to the limiter instance that asked for the
 * promoted job: by the release script's PUBLISH on `<prefix>:signals` when another instance
 * released, in-process when the same one did. {@link RedisSlotLimiter.subscribe} listeners hear both.
 *
 * If Redis loses a key's state (restarted empty, flushed), the next acquire, release or renew of
 * that key rebuilds it from the holder source (the database) before answering, so the limit holds.
 * The rebuild raises the key's fencing token in the database, and grants carry the token: a grant
 * made before the loss cannot be claimed after it. The waiting line is not rebuilt: a job that
 * waited must acquire again (it is answered `enqueued`). The same holds when only part of a key's
 * state is lost, as an eviction does (Redis with `maxmemory` and a `maxmemory-policy` other than
 * `noeviction` may drop any key): `meta` keeps how many members `slots` and `wait` have (`held`,
 * `queued`), and a script that finds other counts treats the key as lost. On first use the
 * limiter reads `maxmemory-policy` (`CONFIG GET`, else `INFO memory`; each master of a Cluster)
 * and warns once (`OUTBOUND_REDIS_EVICTION_POLICY`) unless it is `noeviction`: with eviction on,
 * hand-offs are lost and keys rebuilt under memory pressure, though the limit still holds.
 *
 * A key's state made with another database (one Redis used with two databases, or a database
 * restored from a backup) carries a fence the database is behind: its grants fail their claims.
 * The engine notices and replaces it ({@link RedisSlotLimiter.rebuild} with `ifNewer`, under a
 * fence the database raised above it).
 *
 * Keys: `<prefix>:{<key>}:slots`, `:wait`, `:meta`, `:origin` and `:passed` (see
 * {@link RedisSlotKeyNames}), and `<prefix>:{rate:<scope>}` for
 * {@link RedisSlotLimiter.reserveDialStart}; `%`, `{` and `}` in a key or scope are written `%25`,
 * `%7B` and `%7D` so that the braces always delimit the hash tag.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisSlotLimiter } from 'outbound-queue/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL!);
 * const limiter = new RedisSlotLimiter({ redis });
 * const slot = await limiter.acquire('business-4', 'job-1', 3, 30_000);
 * if (slot.status === 'acquired') {
 *   // dial; when the call ends:
 *   const { promoted } = await limiter.release('business-4', 'job-1');
 * }
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
  /** The keys' states in Redis, rebuilt from the holder source when lost. */
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
    this.scripts = slotScripts(options.redis);
    this.state = new RedisKeyState(this.scripts, (key) => this.names(key));
    this.signals = new RedisSignalChannel({
      channel: `${this.prefix}:signals`,
      redis: options.redis,
      subscriber: options.subscriber,
      logger: this.logger,
    });
  }

  /**
   * Reads Redis's `maxmemory-policy` (each master's on a Cluster), once per limiter; the first
   * operation on a key starts it. Warns once through the logger (`OUTBOUND_REDIS_EVICTION_POLICY`)
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
   * The Redis keys of one limiter key (business), all with the same hash tag.
   * @param key - limiter key (business id)
   * @returns the slots, wait and meta key names
   */
  keyNames(key: string): RedisSlotKeyNames {
    return slotKeyNames(this.prefix, key);
  }

  /**
   * Asks for a slot for `jobId` under `limit` concurrent holders of `key`; a newcomer never jumps
   * the waiting line. One round trip (three the first time a key is seen without state).
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
   * Asks for a slot for each of `jobIds`, in order, in one script (one round trip).
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
    const k = this.names(key);
    const reply = await this.state.withState(key, limit, leaseMs, 'acquire', () =>
      this.scripts.acquire(k.slots, k.wait, k.meta, k.origin, limit, leaseMs, this.instanceId, ...jobIds),
    );
    const codes = replyList(reply[5], 'acquire');
    return {
      statuses: codes.map((code) => {
        const status = ACQUIRE_STATUSES[replyInt(code, 'acquire')];
        if (!status) throw new Error(`unexpected acquire status ${String(code)}`);
        return status;
      }),
      active: replyInt(reply[1], 'acquire'),
      limit: replyInt(reply[2], 'acquire'),
      queueLength: replyInt(reply[3], 'acquire'),
      fence: replyInt(reply[4], 'acquire'),
    };
  }

  /**
   * Frees the slot of `jobId` and hands free slots to the head of the waiting line, telling the
   * instances that asked for the promoted jobs in the same script (see the class notes). Idempotent.
   * @param key - limiter key
   * @param jobId - the job whose call ended
   * @param leaseMs - lease of holders' slots if the key has to be built from the holder source
   * @param fence - the token of a grant given back unused: with another token in the state, nothing changes
   * @returns whether a slot was freed, the promoted jobs in line order, and the counters
   */
  async release(key: string, jobId: string, leaseMs?: number, fence?: number): Promise<ReleaseResult> {
    return this.runRelease(key, jobId, leaseMs, fence, false);
  }

  /**
   * Frees the slot of `jobId` into a promotion only: when it holds a slot and a job waits, as
   * {@link RedisSlotLimiter.release} does, linking the promoted job to `jobId` until its own slot
   * is freed; otherwise nothing changes. One round trip.
   * @param key - limiter key
   * @param jobId - the job whose call ended, its end not written yet
   * @returns as for release; `released` false and no promotion when nothing changed
   */
  async pass(key: string, jobId: string): Promise<ReleaseResult> {
    return this.runRelease(key, jobId, undefined, undefined, true);
  }

  /**
   * The job whose slot was passed to `jobId`, while they are linked (one `HGET`).
   * @param key - limiter key
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
    const reply = await this.state.withState(key, 0, lease, 'release', () =>
      this.scripts.release(
        k.slots,
        k.wait,
        k.meta,
        k.origin,
        k.passed,
        jobId,
        this.channel,
        key,
        lease,
        this.instanceId,
        fence === undefined ? '' : String(fence),
        pass ? '1' : '0',
      ),
    );
    // Promotions of jobs this instance asked for were not published: tell its listeners here.
    const own = replyIds(reply[6], 'release');
    if (own.length > 0) this.signals.deliver({ key, promoted: own });
    return releaseResult(reply);
  }

  /**
   * Publishes that `jobIds` hold slots their promoter will not dial (it is closing), to every
   * instance: the one whose feeder waits for a job dials it.
   * @param key - limiter key
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
   * @param key - limiter key
   * @param jobIds - jobs this process believes it holds slots for
   * @param leaseMs - new lease length from now
   * @returns the ids among `jobIds` that hold no slot
   */
  async renew(key: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    checkLeaseMs(leaseMs);
    if (jobIds.length === 0) return [];
    const k = this.names(key);
    const reply = await this.state.withState(key, 0, leaseMs, 'renew', () =>
      this.scripts.renew(k.slots, k.meta, leaseMs, ...jobIds),
    );
    return replyIds(reply[1], 'renew');
  }

  /**
   * Drops jobs from the waiting line; slots are not touched.
   * @param key - limiter key
   * @param jobIds - jobs to drop
   * @returns how many were waiting and are now removed
   */
  async remove(key: string, jobIds: readonly string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const k = this.names(key);
    return replyInt(await this.scripts.remove(k.wait, k.origin, k.meta, ...jobIds), 'remove');
  }

  /**
   * Reports slots whose lease expired and extends each by `leaseMs`, so one reconciler resolves it.
   * @param key - limiter key
   * @param leaseMs - extension given to each expired slot
   * @returns the expired slots' job ids, oldest lease first, each preceded by the job whose slot
   *   was passed to it (see {@link RedisSlotLimiter.pass}), if any
   */
  async reclaim(key: string, leaseMs: number): Promise<string[]> {
    checkLeaseMs(leaseMs);
    const k = this.names(key);
    return replyIds(await this.scripts.reclaim(k.slots, k.passed, leaseMs), 'reclaim');
  }

  /**
   * Replaces the key's slots with `state.holders` (fresh leases) under the fencing token
   * `state.fence`, and empties its waiting line.
   * @param key - limiter key
   * @param state - the fencing token and the jobs that hold calls according to the database
   * @param limit - the key's limit
   * @param leaseMs - lease of the holders' slots and of later promotions
   * @param options - `ifNewer`: only over no state or a state with an older fence (a rebuild by
   *   another process from a newer read of the database stays)
   * @returns whether the state was replaced
   */
  async rebuild(
    key: string,
    state: SlotHolders,
    limit: number,
    leaseMs: number,
    options: { ifNewer?: boolean } = {},
  ): Promise<boolean> {
    checkLimit(limit);
    checkLeaseMs(leaseMs);
    return this.state.rebuild(key, options.ifNewer ? 'if-newer' : 'always', state, limit, leaseMs);
  }

  /**
   * Reserves the next free dial-start instant of `scope` across all processes, spaced
   * `1000 / perSecond` ms apart.
   * @param scope - what the rate applies to (e.g. a provider account)
   * @param perSecond - dial starts allowed per second
   * @returns milliseconds to wait before dialing (0: dial now)
   */
  async reserveDialStart(scope: string, perSecond: number): Promise<number> {
    checkPerSecond(perSecond);
    void this.checkEvictionPolicy();
    const reply = await this.scripts.reserveDialStart(`${this.prefix}:{rate:${escapeTag(scope)}}`, perSecond);
    return Math.max(0, replyInt(reply, 'reserve-dial-start'));
  }

  /**
   * Sets where the holders of a key without state are read from (the database).
   * @param source - reads the jobs that hold calls for a key
   */
  setHolderSource(source: SlotHolderSource): void {
    this.state.setSource(source);
  }

  /**
   * Listens to promotions made by any process (this one included). All listeners of the limiter
   * share one subscriber connection. A promotion of a job this instance asked for is told to its
   * listeners in-process, by the release that made it (whoever releases, only the instance that
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

  private names(key: string): RedisSlotKeyNames {
    // An empty hash tag ({}) is ignored by Redis Cluster: the keys would land on different slots.
    if (key.length === 0) throw new ValidationError([{ field: 'key', message: 'must not be empty' }]);
    if (!this.evictionCheck) void this.checkEvictionPolicy();
    return this.keyNames(key);
  }
}
