/**
 * What {@link SlotLimiter.acquire} answers.
 * - `acquired`: the job holds a slot now; dial it.
 * - `enqueued`: the job was put at the tail of its run's line.
 * - `already_queued`: the job was already waiting; keep waiting (never skip it).
 * - `inflight`: the job already holds a slot; someone is dialing it.
 */
export type AcquireStatus = 'acquired' | 'enqueued' | 'already_queued' | 'inflight';

/**
 * Who asks for slots: one run of one business. A job holds a slot only while its run, its
 * business and (for a group's scope) its group all have room.
 */
export interface SlotAsk {
  /** The business the run belongs to: a member of the scope (see {@link SlotHolders.members}). */
  business: string;
  /** The run the jobs belong to; its jobs wait in their own line, first come first served. */
  run: string;
  /**
   * The run's concurrency: at most this many of its jobs hold slots. Stored when the scope does
   * not know the run yet; a known run keeps its limit until {@link SlotLimiter.setLimits} changes
   * it (an ask from a process that has not heard of a change must not undo it).
   */
  runLimit: number;
  /**
   * The run's weight among the runs of its business (a whole number >= 1, default 1): while runs
   * wait, one of weight 2 is promoted twice as often as one of weight 1. Stored as `runLimit` is.
   */
  priority?: number;
}

/**
 * The counters of the levels one job is under, after an operation: its run, its business and,
 * in a group's scope, its group.
 */
export interface SlotLevels {
  /** Slots held by the business's jobs (expired leases count until reclaimed). */
  active: number;
  /**
   * The business's limit: the one set for it, or, when none is set, the highest `runLimit` of
   * its runs that the limiter knows (each run is still held to its own).
   */
  limit: number;
  /** Slots held by the run's jobs. */
  runActive: number;
  /** The run's limit as last stored. */
  runLimit: number;
  /** Jobs waiting in the run's line. */
  queueLength: number;
  /** Slots held in the group, when the scope is a group's. */
  groupActive?: number;
  /** The group's limit, when the scope is a group's and one is set. */
  groupLimit?: number;
  /**
   * The scope's fencing token, when the limiter can lose its state and rebuild it (Redis): a job
   * granted a slot is claimed with it, and the claim fails unless the database's token for the
   * job's business is still this one. A database token above it means the state was rebuilt
   * since the grant (normal: the job is offered again); below it, the state was made with another
   * database, or the database was restored from a backup (the engine replaces the state: see
   * `JobStore.fenceSlots`'s `above`).
   */
  fence?: number;
}

/** Result of {@link SlotLimiter.acquire}. */
export interface AcquireResult extends SlotLevels {
  /** What happened to the job: it holds a slot, waits in line, or was already doing either. */
  status: AcquireStatus;
  /** Jobs of other runs this step promoted, as for {@link AcquireManyResult.promoted}. */
  promoted: string[];
}

/** Result of {@link SlotLimiter.acquireMany}. */
export interface AcquireManyResult extends SlotLevels {
  /** What happened to each job, in the order they were given. */
  statuses: AcquireStatus[];
  /**
   * Jobs of other runs that this step promoted into slots (a run introduced with a higher
   * concurrency raises the limit of a business without its own): the caller dials them, as a
   * release's caller dials the jobs it promoted.
   */
  promoted: string[];
}

/** Result of {@link SlotLimiter.release}; the levels are those of the released job (zeros when the scope knows it not). */
export interface ReleaseResult extends SlotLevels {
  /** Whether the job held a slot that this call freed (false: it held none; nothing changed). */
  released: boolean;
  /**
   * Jobs taken from the waiting lines that now hold the freed slot(s), in the order they were
   * chosen (of any run or business of the scope: see {@link SlotLimiter}).
   */
  promoted: string[];
}

/** A change of limits given to {@link SlotLimiter.setLimits}: each part present is applied. */
export interface LimitChange {
  /** A business's limit; `null` clears it (the highest limit of its runs applies again). */
  business?: BusinessLimitChange;
  /** The scope's group limit; `null` clears it. Only for a group's scope. */
  group?: number | null;
  /** A run's limit and weight (as {@link SlotAsk}); a run the scope does not know yet is added. */
  run?: RunLimitChange;
}

/** The business part of a {@link LimitChange}. */
export interface BusinessLimitChange {
  /** The business. */
  id: string;
  /** Its limit, or null for none of its own. */
  limit: number | null;
}

/** The run part of a {@link LimitChange}. */
export interface RunLimitChange {
  /** The run. */
  id: string;
  /** Its business. */
  business: string;
  /** Its concurrency. */
  limit: number;
  /** Its weight among its business's runs (default 1). */
  priority?: number;
}

/** Result of {@link SlotLimiter.setLimits}. */
export interface LimitsResult {
  /** Jobs promoted into the room the change made, in the order they were chosen. */
  promoted: string[];
  /** The scope's fencing token, as for {@link SlotLevels.fence}. */
  fence?: number;
}

/** A change of a business's slots, told to every process through {@link SlotLimiter.subscribe}. */
export interface SlotSignal {
  /** The limiter scope whose slots changed. */
  key: string;
  /** Jobs that were promoted from the lines and now hold slots. */
  promoted: string[];
  /**
   * The promoter will not dial these jobs (it is closing): a process waiting for one of them
   * claims and dials it in the promoter's place. See {@link SlotLimiter.handOver}.
   */
  handedOver?: boolean;
  /** With `handedOver`: the key's fencing token the promoted grants came with. */
  fence?: number;
}

/** A job that holds a call according to the database, with its business and run. */
export interface SlotHolder {
  /** The job's id. */
  jobId: string;
  /** Its business. */
  business: string;
  /** Its run. */
  run: string;
}

/** A business that belongs to a scope, with its limit as stored in the database. */
export interface ScopeMember {
  /** The business id. */
  business: string;
  /** Its concurrency limit, or null when none is set (see {@link SlotLevels.limit}). */
  limit: number | null;
}

/** A run's limit and weight as stored in the database. */
export interface RunLimit {
  /** The run's id. */
  run: string;
  /** Its business. */
  business: string;
  /** Its concurrency. */
  limit: number;
  /** Its weight among its business's runs (default 1). */
  priority?: number;
}

/**
 * What a {@link SlotHolderSource} reads for a scope: a new fencing token, the scope's members and
 * limits, and the jobs that hold calls.
 */
export interface SlotHolders {
  /** The scope's fencing token, raised by this read for every member: claims presenting another one fail. */
  fence: number;
  /** The jobs that the database says hold calls now. */
  holders: SlotHolder[];
  /**
   * The businesses of the scope (a business's own scope: that business, unless it belongs to a
   * group). A limiter asked for a business that is not a member answers `ScopeMovedError`.
   */
  members: ScopeMember[];
  /** The limits of the holders' runs and of the members' live runs (running or paused). */
  runs: RunLimit[];
  /** The group's concurrency limit (a group's scope), or null. */
  groupLimit: number | null;
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

/** A dial-start rate for {@link SlotLimiter.reserveDialStart}: at most `perSecond` starts of `name`. */
export interface DialRate {
  /** What the rate applies to, within the scope (the business, the group). */
  name: string;
  /** Dial starts allowed per second (> 0). */
  perSecond: number;
}

/**
 * Raises a limiter scope's fencing token and reads its members, limits and the jobs that the
 * database says hold calls now (see `JobStore.fenceSlots`). A limiter that finds a scope without
 * state (first use, or Redis restarted empty), or without the business it is asked for, rebuilds
 * it from this before answering.
 */
export type SlotHolderSource = (key: string) => Promise<SlotHolders>;

/**
 * Concurrency slots per limiter scope, shared by every process that uses the same backing store.
 * A scope is one business without a group (its id), or one account group with all its
 * businesses ({@link groupScope}): everything one job's grant depends on lives in one scope, so
 * each method is one atomic step (one round trip, one Lua script, one Cluster slot for Redis).
 *
 * Within a scope a job holds a slot only while its run is under its `runLimit`, its business
 * under its limit and the group under the group's. Each run has its own first-come-first-served
 * line; when a slot frees, the next job is taken from the business that was served least
 * (round-robin between a group's businesses), and within it from the run served least for its
 * weight (`priority`): no run and no business waits while another of the same scope is served
 * twice. A job never jumps its run's line, and never takes a slot while a job of the scope that
 * could use it waits.
 *
 * Slots are leases: a holder renews them, and expired ones are reported by
 * {@link SlotLimiter.reclaim} for the reconciler to resolve.
 */
export interface SlotLimiter {
  /**
   * Asks for a slot for `jobId` of `ask.run` (see {@link SlotLimiter.acquireMany}).
   * @param key - limiter scope ({@link businessScope} or {@link groupScope})
   * @param jobId - the job that wants to dial
   * @param ask - the job's business and run, and the run's limit and weight (for a run not known yet)
   * @param leaseMs - lease length of a slot granted now or later by promotion
   * @returns the outcome with the job's levels
   * @throws ScopeMovedError when the database says `ask.business` is not a member of the scope
   */
  acquire(key: string, jobId: string, ask: SlotAsk, leaseMs: number): Promise<AcquireResult>;

  /**
   * Asks for a slot for each of `jobIds` of one run in one atomic step, in order, exactly as if
   * each asked alone one after the other (the first ones may take free slots, the rest line up
   * at the tail of the run's line).
   * @param key - limiter scope
   * @param jobIds - the jobs that want to dial, in line order
   * @param ask - the jobs' business and run, and the run's limit and weight (for a run not known yet)
   * @param leaseMs - lease length of a slot granted now or later by promotion
   * @returns each job's outcome with the levels after the last one
   * @throws ScopeMovedError when the database says `ask.business` is not a member of the scope
   */
  acquireMany(
    key: string,
    jobIds: readonly string[],
    ask: SlotAsk,
    leaseMs: number,
  ): Promise<AcquireManyResult>;

  /**
   * Changes limits live, in one atomic step that then promotes waiting jobs into any room it made
   * (a raised limit dials waiting jobs at once; a lowered one promotes nothing until the slots
   * held fall below it, and takes no slot back).
   * @param key - limiter scope
   * @param change - the limits to set
   * @returns the jobs promoted, in the order they were chosen (the caller dials them, as for a
   *   release), and the scope's fencing token their claims present
   */
  setLimits(key: string, change: LimitChange): Promise<LimitsResult>;

  /**
   * Frees the slot of `jobId` and, in the same atomic step, hands freed slots to the jobs waiting
   * in the scope's lines, by the sharing rule. Idempotent: releasing a job that holds no slot
   * changes nothing.
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
   * Drops jobs from their lines (stop, pause). Slots held are not touched.
   * @param retire - a run whose feeder stopped: the scope forgets the run (its limit and weight)
   *   once it holds no slot and waits for nothing, until an ask introduces it again. A run is
   *   otherwise kept, so that an ask from a process that has not heard of a change of its limit
   *   cannot undo the change.
   * @returns how many jobs were removed
   */
  remove(key: string, jobIds: readonly string[], retire?: string): Promise<number>;

  /**
   * Finds slots whose lease expired and extends each by `leaseMs`, so that exactly one reconciler
   * resolves it (by {@link SlotLimiter.release} or {@link SlotLimiter.renew}). Expired slots keep
   * counting toward the limit until then: a call may still be live.
   * @returns the job ids of the expired slots, each preceded by the job whose slot was passed to
   *   it ({@link SlotLimiter.pass}), if any: that one holds no slot, but its end may be unwritten
   */
  reclaim(key: string, leaseMs: number): Promise<string[]>;

  /**
   * Replaces the scope's state with what the database read: its members and limits, its slots
   * (`state.holders`, fresh leases) under the fencing token `state.fence`, and empty lines (a job
   * that waited asks again). Run limits of runs not in `state.runs` are stored by their next
   * ask. Used when the backing store lost its state, holds one made with another database (see
   * {@link RebuildOptions.ifNewer}), or a business joined or left the scope; the database is the
   * truth.
   * @param options - see {@link RebuildOptions}
   */
  rebuild(key: string, state: SlotHolders, leaseMs: number, options?: RebuildOptions): Promise<unknown>;

  /**
   * Reserves one dial start under every rate of `rates` at once: the first instant at which each
   * has a free turn, across all processes, so that at most `perSecond` starts of each `name` fall
   * in any second. Never refuses: it reserves the next free instant.
   * @param key - limiter scope the rates belong to (their turns live beside its slots)
   * @returns milliseconds to wait before dialing (0: dial now)
   */
  reserveDialStart(key: string, rates: readonly DialRate[]): Promise<number>;

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
