import type { AcquireStatus, LimitChange, SlotAsk, SlotHolders, SlotLevels } from './slot-limiter.js';

/** A run known to a scope: its limit and weight, its slots and its line. */
interface RunEntry {
  business: string;
  limit: number;
  weight: number;
  held: number;
  /** The run's waiting jobs: a Set iterates in insertion order, so it is FIFO. */
  line: Set<string>;
  /** Promotions received, each counted 1/weight: the least served run goes first. */
  pass: number;
  /** How far its pass was ahead of its business's (negative: behind) when its line last emptied. */
  lag: number;
  /** Breaks ties between equal passes: the run first seen goes first. */
  order: number;
  /** Its feeder stopped: forgotten once it holds no slot and waits for nothing. */
  retiring: boolean;
  /** Its limit and weight are placeholders (a holder's run the database gave no limit of): its next ask stores its own. */
  provisional: boolean;
}

/** A business known to a scope. */
interface BusinessEntry {
  /** Its own limit, or null: the highest limit of its runs applies. */
  limit: number | null;
  held: number;
  /** Promotions received: the least served business goes first. */
  pass: number;
  /** How far its pass was ahead of the scope's when its last waiting run stopped waiting. */
  lag: number;
  /** The pass its last promoted run had: where a run that starts waiting again stands. */
  vtime: number;
  order: number;
}

/** A slot: when its lease expires and which run's job holds it. */
interface SlotEntry {
  expiry: number;
  run: string;
}

/**
 * One limiter scope's slots and lines, and how slots are shared: the algorithm both limiters
 * implement (`MemorySlotLimiter` with this class, `RedisSlotLimiter` in Lua, step for step).
 *
 * - A job is eligible for a slot when it heads its run's line and its run, its business and the
 *   group have room.
 * - After every step the scope promotes eligible jobs until none is left (work-conserving): of
 *   the eligible runs, the one whose business has the lowest `pass` (then the earliest seen),
 *   and within it the run with the lowest `pass` (then the earliest seen). A promotion adds 1 to
 *   the business's pass and `1 / weight` to the run's.
 * - Stride scheduling with lags: a run whose line empties keeps how far its pass stood ahead of
 *   (or behind) its business's virtual time (the pass of the run it last promoted), within one
 *   promotion either way; when it waits again it stands there from the business's virtual time
 *   then. A run that was away neither bursts nor waits for the others to catch up, and a run
 *   whose line empties between two asks (a feeder keeps few jobs in line) keeps its turn. A
 *   business does the same within its scope.
 * - Asks are put at the tail of their run's line and promoted by the same rule, so a newcomer
 *   never jumps a job that could use the slot.
 */
export class ScopeState {
  /** Job id -> its slot. */
  readonly slots = new Map<string, SlotEntry>();
  /** Waiting job id -> its run. */
  readonly waiting = new Map<string, string>();
  private readonly runs = new Map<string, RunEntry>();
  private readonly businesses = new Map<string, BusinessEntry>();
  /** Runs with a non-empty line. */
  private readonly waitingRuns = new Set<string>();
  /** Job id -> the job whose slot was passed to it, until its own slot is freed. */
  readonly passed = new Map<string, string>();
  private nextOrder = 0;
  /** The pass the last promoted business had: where a business that starts waiting again stands. */
  private vtime = 0;
  /** The group's limit (a group's scope), or null. */
  groupLimit: number | null = null;
  /**
   * The fencing token the state was read from the database under (undefined: built without a
   * holder source). Grants carry it; a claim presenting it fails once the state was rebuilt.
   */
  fence: number | undefined;

  /**
   * @param leaseMs - lease of slots granted by promotion
   * @param acceptAny - accept asks of any business (a limiter without a holder source)
   */
  constructor(
    public leaseMs: number,
    private readonly acceptAny: boolean,
  ) {}

  /**
   * A state read from the database: members and limits, holders with fresh leases, no lines.
   * @param state - what the holder source read
   * @param expiry - the holders' lease expiry
   */
  static fromHolders(state: SlotHolders, leaseMs: number, expiry: number, acceptAny: boolean): ScopeState {
    const scope = new ScopeState(leaseMs, acceptAny);
    scope.groupLimit = state.groupLimit;
    scope.fence = acceptAny ? undefined : state.fence;
    for (const member of state.members) scope.business(member.business).limit = member.limit;
    for (const run of state.runs)
      scope.runEntry(run.run, run.business, run.limit, run.priority ?? 1, 'holder');
    for (const holder of state.holders) {
      // A job listed twice holds one slot.
      if (scope.slots.has(holder.jobId)) continue;
      const run = scope.runEntry(holder.run, holder.business, 1, 1, 'placeholder');
      scope.hold(holder.jobId, holder.run, run, expiry);
    }
    return scope;
  }

  /** Whether asks of `business` belong here. */
  isMember(business: string): boolean {
    return this.acceptAny || this.businesses.has(business);
  }

  /**
   * Asks for slots for `jobIds` of one run: each joins the tail of the run's line, then eligible
   * jobs are promoted.
   * @param expiry - lease expiry of slots granted now
   * @returns each job's status, and the jobs of other asks promoted meanwhile
   */
  ask(
    jobIds: readonly string[],
    ask: SlotAsk,
    expiry: number,
  ): { statuses: AcquireStatus[]; others: string[]; levels: SlotLevels } {
    // An ask's limit and weight only introduce a run: a live change comes through setLimits, and
    // an ask made before it (its asker had not heard of it) must not undo it.
    const run = this.runEntry(ask.run, ask.business, ask.runLimit, ask.priority ?? 1, 'ask');
    const asked = new Set<string>();
    const statuses = jobIds.map((jobId): AcquireStatus => {
      if (this.slots.has(jobId)) return 'inflight';
      if (this.waiting.has(jobId)) return 'already_queued';
      this.enqueue(jobId, ask.run, run);
      asked.add(jobId);
      return 'enqueued';
    });
    const others: string[] = [];
    for (const jobId of this.promote(expiry)) {
      if (asked.has(jobId)) statuses[jobIds.indexOf(jobId)] = 'acquired';
      else others.push(jobId);
    }
    return { statuses, others, levels: this.levelsOf(ask.run) };
  }

  /**
   * Frees the slot of `jobId` and promotes into the room.
   * @param passOnly - free it only into a promotion (see `SlotLimiter.pass`), linking the first
   *   job promoted to it
   * @returns whether it was freed, the promoted jobs, and the freed job's levels
   */
  free(
    jobId: string,
    expiry: number,
    passOnly: boolean,
  ): { released: boolean; promoted: string[]; levels: SlotLevels } {
    const slot = this.slots.get(jobId);
    if (!slot) return { released: false, promoted: [], levels: this.levelsOf(undefined) };
    const run = this.runs.get(slot.run) as RunEntry;
    const business = this.businesses.get(run.business) as BusinessEntry;
    this.slots.delete(jobId);
    run.held -= 1;
    business.held -= 1;
    if (passOnly && this.choose() === undefined) {
      this.slots.set(jobId, slot);
      run.held += 1;
      business.held += 1;
      return { released: false, promoted: [], levels: this.levelsOf(slot.run) };
    }
    this.passed.delete(jobId);
    const promoted = this.promote(expiry);
    const [first] = promoted;
    if (passOnly && first !== undefined) this.passed.set(first, jobId);
    const levels = this.levelsOf(slot.run);
    this.forgetIfIdle(slot.run);
    return { released: true, promoted, levels };
  }

  /**
   * Drops jobs from their lines (slots are not touched).
   * @param retire - a run whose feeder stopped: forgotten once idle (its next ask introduces it again)
   * @returns how many were waiting
   */
  remove(jobIds: readonly string[], retire?: string): number {
    if (retire !== undefined) {
      const run = this.runs.get(retire);
      if (run) run.retiring = true;
    }
    let removed = 0;
    for (const jobId of jobIds) {
      const runId = this.waiting.get(jobId);
      if (runId === undefined) continue;
      const run = this.runs.get(runId) as RunEntry;
      this.waiting.delete(jobId);
      run.line.delete(jobId);
      if (run.line.size === 0) this.stoppedWaiting(runId, run);
      this.forgetIfIdle(runId);
      removed += 1;
    }
    if (retire !== undefined) this.forgetIfIdle(retire);
    return removed;
  }

  /**
   * Applies a change of limits, then promotes into any room it made.
   * @returns the promoted jobs
   */
  setLimits(change: LimitChange, expiry: number): string[] {
    if (change.business) this.business(change.business.id).limit = change.business.limit;
    if (change.group !== undefined) this.groupLimit = change.group;
    if (change.run) {
      const { id, business, limit, priority } = change.run;
      this.runEntry(id, business, limit, priority ?? 1, 'set');
    }
    return this.promote(expiry);
  }

  /**
   * The levels one run's jobs are under (zeros for an unknown run).
   * @param runId - the run, if any
   */
  levelsOf(runId: string | undefined): SlotLevels {
    const run = runId === undefined ? undefined : this.runs.get(runId);
    const business = run ? this.businesses.get(run.business) : undefined;
    const levels: SlotLevels = {
      active: business?.held ?? 0,
      limit: run ? this.businessLimit(run.business) : 0,
      runActive: run?.held ?? 0,
      runLimit: run?.limit ?? 0,
      queueLength: run?.line.size ?? 0,
    };
    if (this.groupLimit !== null) {
      levels.groupActive = this.slots.size;
      levels.groupLimit = this.groupLimit;
    }
    if (this.fence !== undefined) levels.fence = this.fence;
    return levels;
  }

  private business(id: string): BusinessEntry {
    let entry = this.businesses.get(id);
    if (!entry) {
      entry = { limit: null, held: 0, pass: this.vtime, lag: 0, vtime: 0, order: this.nextOrder++ };
      this.businesses.set(id, entry);
    }
    return entry;
  }

  /**
   * A run's entry. `ask` introduces a run with its limit and weight, or keeps a known one's (and
   * no longer retires it: its feeder asks); `set` creates or changes them; `holder` (a rebuild)
   * introduces a run to be forgotten once idle unless a feeder asks for it; `placeholder` does
   * so for a holder's run the database gave no limit of, whose next ask stores its own.
   */
  private runEntry(
    id: string,
    business: string,
    limit: number,
    weight: number,
    how: 'ask' | 'set' | 'holder' | 'placeholder',
  ): RunEntry {
    let entry = this.runs.get(id);
    if (!entry) {
      this.business(business);
      entry = {
        business,
        limit,
        weight,
        held: 0,
        line: new Set(),
        pass: this.business(business).vtime,
        lag: 0,
        order: this.nextOrder++,
        retiring: how !== 'ask',
        provisional: how === 'placeholder',
      };
      this.runs.set(id, entry);
    } else if (how === 'set' || (how === 'ask' && entry.provisional)) {
      entry.limit = limit;
      entry.weight = weight;
      entry.provisional = false;
    }
    if (how === 'ask') entry.retiring = false;
    return entry;
  }

  private businessLimit(id: string): number {
    const own = this.businesses.get(id)?.limit;
    if (own !== null && own !== undefined) return own;
    let highest = 0;
    for (const run of this.runs.values()) if (run.business === id) highest = Math.max(highest, run.limit);
    return highest;
  }

  private hold(jobId: string, runId: string, run: RunEntry, expiry: number): void {
    this.slots.set(jobId, { expiry, run: runId });
    run.held += 1;
    (this.businesses.get(run.business) as BusinessEntry).held += 1;
  }

  private enqueue(jobId: string, runId: string, run: RunEntry): void {
    if (run.line.size === 0) {
      const business = this.businesses.get(run.business) as BusinessEntry;
      if (!this.businessWaits(run.business)) business.pass = this.vtime + clamp(business.lag, 1);
      run.pass = business.vtime + clamp(run.lag, 1 / run.weight);
      this.waitingRuns.add(runId);
    }
    run.line.add(jobId);
    this.waiting.set(jobId, runId);
  }

  /** Whether a run of the business waits. */
  private businessWaits(id: string): boolean {
    for (const runId of this.waitingRuns) if ((this.runs.get(runId) as RunEntry).business === id) return true;
    return false;
  }

  /**
   * A run's line emptied (promoted, or removed): it keeps how far ahead or behind its business it
   * stood, and so does its business when no run of it waits any more.
   */
  private stoppedWaiting(runId: string, run: RunEntry): void {
    this.waitingRuns.delete(runId);
    const business = this.businesses.get(run.business) as BusinessEntry;
    run.lag = run.pass - business.vtime;
    if (!this.businessWaits(run.business)) business.lag = business.pass - this.vtime;
  }

  /** The eligible run to promote next, by the rule in the class notes. */
  private choose(): string | undefined {
    if (this.groupLimit !== null && this.slots.size >= this.groupLimit) return undefined;
    let best: { id: string; run: RunEntry; business: BusinessEntry } | undefined;
    for (const id of this.waitingRuns) {
      const run = this.runs.get(id) as RunEntry;
      if (run.held >= run.limit) continue;
      const business = this.businesses.get(run.business) as BusinessEntry;
      if (business.held >= this.businessLimit(run.business)) continue;
      if (!best || before(business, run, best.business, best.run)) best = { id, run, business };
    }
    return best?.id;
  }

  /** Promotes eligible jobs until none is left. */
  private promote(expiry: number): string[] {
    const promoted: string[] = [];
    for (let id = this.choose(); id !== undefined; id = this.choose()) {
      const run = this.runs.get(id) as RunEntry;
      const [head] = run.line as Iterable<string>;
      if (head === undefined) break;
      const business = this.businesses.get(run.business) as BusinessEntry;
      run.line.delete(head);
      this.waiting.delete(head);
      this.hold(head, id, run, expiry);
      this.vtime = business.pass;
      business.vtime = run.pass;
      run.pass += 1 / run.weight;
      business.pass += 1;
      if (run.line.size === 0) this.stoppedWaiting(id, run);
      promoted.push(head);
    }
    return promoted;
  }

  /**
   * Forgets a retiring run that holds nothing and waits for nothing. A run is kept while its
   * feeder lives, so that an ask made before a change of its limit (by a process that has not
   * heard of it) cannot bring the old limit back; a new feeder reads the run afresh.
   */
  private forgetIfIdle(runId: string): void {
    const run = this.runs.get(runId);
    if (run?.retiring && run.held === 0 && run.line.size === 0) this.runs.delete(runId);
  }
}

/** A lag kept within one promotion (`stride`) either way: an absence neither bursts nor waits long. */
function clamp(lag: number, stride: number): number {
  return Math.min(stride, Math.max(-stride, lag));
}

/** Whether a candidate (business `b`, run `r`) goes before the best so far (`bb`, `br`). */
function before(b: BusinessEntry, r: RunEntry, bb: BusinessEntry, br: RunEntry): boolean {
  if (b !== bb) return b.pass < bb.pass || (b.pass === bb.pass && b.order < bb.order);
  return r.pass < br.pass || (r.pass === br.pass && r.order < br.order);
}
