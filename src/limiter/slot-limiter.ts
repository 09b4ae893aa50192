/**
 * What {@link SlotLimiter.acquire} answers.
 * - `acquired`: the job holds a slot now; dial it.
 * - `enqueued`: the job was put at the tail of the business's waiting line.
 * - `already_queued`: the job was already waiting; keep waiting (never skip it).
 * - `inflight`: the job already holds a slot; someone is dialing it.
 */
export type AcquireStatus = 'acquired' | 'enqueued' | 'already_queued' | 'inflight';

/** Result of {@link SlotLimiter.acquire}. */
export interface AcquireResult {
  /** What happened to the job: it holds a slot, waits in line, or was already doing either. */
  status: AcquireStatus;
  /** Slots held after the operation (expired leases count until reclaimed). */
  active: number;
  /** The business's limit as stored by this acquire. */
  limit: number;
  /** Jobs in the waiting line after the operation. */
  queueLength: number;
  /**
   * The key's fencing token, when the limiter can lose its state and rebuild it (Redis): a job
   * granted a slot is claimed with it, and the claim fails unless the database's token for the
   * key is still this one. A database token above it means the state was rebuilt since the grant
   * (normal: the job is offered again); below it, the state was made with another database, or
   * the database was restored from a backup (the engine replaces the state: see
   * `JobStore.fenceSlots`'s `above`).
   */
  fence?: number;
}

/** Result of {@link SlotLimiter.acquireMany}. */
export interface AcquireManyResult {
  /** What happened to each job, in the order they were given. */
  statuses: AcquireStatus[];
  /** Slots held after the operation. */
  active: number;
  /** The business's limit as stored by this call. */
  limit: number;
  /** Jobs in the waiting line after the operation. */
  queueLength: number;
  /** The key's fencing token, as for {@link AcquireResult.fence}. */
  fence?: number;
}

/** Result of {@link SlotLimiter.release}. */
export interface ReleaseResult {
  /** Whether the job held a slot that this call freed (false: it held none; nothing changed). */
  released: boolean;
  /** Jobs taken from the head of the waiting line that now hold the freed slot(s), in order. */
  promoted: string[];
  /** Slots held after the operation. */
  active: number;
  /** The business's limit as last stored by {@link SlotLimiter.acquire} or {@link SlotLimiter.rebuild}. */
  limit: number;
  /** Jobs in the waiting line after the operation (promoted jobs have left it). */
  queueLength: number;
  /** The key's fencing token, as for {@link AcquireResult.fence}; promoted jobs are claimed with it. */
  fence?: number;
}

/** A change of a business's slots, told to every process through {@link SlotLimiter.subscribe}. */
export interface SlotSignal {
  /** The limiter key (business) whose slots changed. */
  key: string;
  /** Jobs that were promoted from the waiting line and now hold slots. */
  promoted: string[];
  /**
   * The promoter will not dial these jobs (it is closing): a process waiting for one of them
   * claims and dials it in the promoter's place. See {@link SlotLimiter.handOver}.
   */
  handedOver?: boolean;
  /** With `handedOver`: the key's fencing token the promoted grants came with. */
  fence?: number;
}

/** What a {@link SlotHolderSource} reads: a key's new fencing token and the jobs that hold calls. */
export interface SlotHolders {
  /** The key's fencing token, raised by this read: claims presenting another one fail. */
  fence: number;
  /** Ids of the jobs that the database says hold calls now. */
  holders: string[];
}

/** Options of {@link SlotLimiter.rebuild}. */
export interface RebuildOptions {
  /**
   * Replace the key's state only when it has none or its fencing token is older than
   * `state.fence`. Several processes may replace one state at once, each with a fresher read of
   * the database: the newest token must win, or the claims it grants would all fail. Limiters
   * whose grants carry no token ignore it.
   */
  ifNewer?: boolean;
}

/**
 * Raises a limiter key's fencing token and reads the jobs that the database says hold calls now
 * (see `JobStore.fenceSlots`). A limiter that finds a key without state (first use, or Redis
 * restarted empty) rebuilds it from this before answering.
 */
export type SlotHolderSource = (key: string) => Promise<SlotHolders>;

/**
 * Per-key (per-business) concurrency slots with a FIFO waiting line, shared by every process that
 * uses the same backing store. Slots are leases: a holder renews them, and expired ones are
 * reported by {@link SlotLimiter.reclaim} for the reconciler to resolve. Every method is one
 * atomic step (one round trip for the Redis implementation).
 */
export interface SlotLimiter {
  /**
   * Asks for a slot for `jobId` under `limit` concurrent holders of `key`.
   * @param key - limiter key (the business id)
   * @param jobId - the job that wants to dial
   * @param limit - the maximum number of concurrent holders; stored for later promotions
   * @param leaseMs - lease length of a slot granted now or later by promotion
   * @returns the outcome with the key's counters
   */
  acquire(key: string, jobId: string, limit: number, leaseMs: number): Promise<AcquireResult>;

  /**
   * Asks for a slot for each of `jobIds` in one atomic step, in order, exactly as if each asked
   * alone one after the other (the first ones may take free slots, the rest line up).
   * @param key - limiter key (the business id)
   * @param jobIds - the jobs that want to dial, in line order
   * @param limit - the maximum number of concurrent holders; stored for later promotions
   * @param leaseMs - lease length of a slot granted now or later by promotion
   * @returns each job's outcome with the key's counters after the last one
   */
  acquireMany(
    key: string,
    jobIds: readonly string[],
    limit: number,
    leaseMs: number,
  ): Promise<AcquireManyResult>;

  /**
   * Frees the slot of `jobId` and, in the same atomic step, hands freed slots to the head of the
   * waiting line. Idempotent: releasing a job that holds no slot changes nothing.
   * @param leaseMs - lease of slots this call creates when the key has no state and is rebuilt
   *   from the holder source (default: the limiter's `holderLeaseMs`); promotions keep the key's
   *   stored lease
   * @param fence - the fencing token of a grant given back unused (see {@link AcquireResult.fence}):
   *   the release changes nothing when the key's state has another token, since that state never
   *   granted this slot. Omit it to free the job's slot whatever the state.
   * @returns whether a slot was freed and which jobs were promoted
   */
  release(key: string, jobId: string, leaseMs?: number, fence?: number): Promise<ReleaseResult>;

  /**
   * Hands the slot of `jobId` straight on, in one atomic step, when that frees it into a promotion
   * (the job holds a slot, a job waits, and the limit leaves room): as {@link SlotLimiter.release}
   * does then. Otherwise nothing changes and the job keeps its slot. For a call whose end is
   * reported but not written yet: the promoted job is claimed in the same write as that end,
   * after it. Until the promoted job's own slot is freed, the limiter remembers whose slot it
   * took (the first job promoted, when a raised limit promotes more than one), and {@link SlotLimiter.reclaim} reports that job before it: a holder that died between
   * the pass and the write leaves an end to be resolved. Optional: without it, an end is written
   * before its slot is released.
   * @returns as for release; `released` false and no promotion when nothing changed
   */
  pass?(key: string, jobId: string): Promise<ReleaseResult>;

  /**
   * The job whose slot was passed to `jobId` ({@link SlotLimiter.pass}), if the limiter still
   * links them (until `jobId`'s own slot is freed). Required with `pass`.
   */
  passedFrom?(key: string, jobId: string): Promise<string | undefined>;

  /**
   * Extends the leases of slots held by `jobIds`.
   * @returns the ids among `jobIds` that hold no slot any more (released elsewhere, or reclaimed)
   */
  renew(key: string, jobIds: readonly string[], leaseMs: number): Promise<string[]>;

  /**
   * Drops jobs from the waiting line (stop, pause). Slots held are not touched.
   * @returns how many jobs were removed
   */
  remove(key: string, jobIds: readonly string[]): Promise<number>;

  /**
   * Finds slots whose lease expired and extends each by `leaseMs`, so that exactly one reconciler
   * resolves it (by {@link SlotLimiter.release} or {@link SlotLimiter.renew}). Expired slots keep
   * counting toward the limit until then: a call may still be live.
   * @returns the job ids of the expired slots, each preceded by the job whose slot was passed to
   *   it ({@link SlotLimiter.pass}), if any: that one holds no slot, but its end may be unwritten
   */
  reclaim(key: string, leaseMs: number): Promise<string[]>;

  /**
   * Replaces the key's slots with `state.holders` (fresh leases) under the fencing token
   * `state.fence`, and empties its waiting line. Used when the backing store lost its state, or
   * holds one made with another database (see {@link RebuildOptions.ifNewer}); the database is
   * the truth.
   * @param options - see {@link RebuildOptions}
   */
  rebuild(
    key: string,
    state: SlotHolders,
    limit: number,
    leaseMs: number,
    options?: RebuildOptions,
  ): Promise<unknown>;

  /**
   * Spaces dial starts of `scope` so that at most `perSecond` start in any second, across all
   * processes. Never rejects: it reserves the next free instant.
   * @returns milliseconds to wait before dialing (0: dial now)
   */
  reserveDialStart(scope: string, perSecond: number): Promise<number>;

  /**
   * Tells the limiter where to read the holders of a key that has no state. Set by OutboundQueue.
   */
  setHolderSource(source: SlotHolderSource): void;

  /**
   * Tells every process that `jobIds`, promoted into slots by this one, will not be dialed here
   * (the process is closing): the process whose feeder waits for one of them dials it at once,
   * instead of after the slot's lease ran out. Optional: without it, such a slot is reclaimed
   * once its lease expires.
   * @param fence - the fencing token the promotion came with
   */
  handOver?(key: string, jobIds: readonly string[], fence?: number): Promise<void>;

  /**
   * Listens to promotions made by any process.
   * @returns a function that stops listening
   */
  subscribe(listener: (signal: SlotSignal) => void): () => void;

  /** Releases connections the limiter opened itself (never the host's). */
  close(): Promise<void>;
}
