import { expect } from 'vitest';
import type {
  AcquireManyResult,
  LimitChange,
  ReleaseResult,
  SlotAsk,
  SlotHolders,
  SlotLevels,
} from '../../src/limiter/slot-limiter.js';

/** A run as the contract says the scope knows it: its limit and weight, its line, whether it retires. */
interface ObservedRun {
  business: string;
  limit: number;
  weight: number;
  retiring: boolean;
  /** A holder's run the database gave no limit of: its next ask stores its limit and weight. */
  provisional?: boolean;
  line: string[];
}

interface ObservedScope {
  leaseMs: number;
  holders: Map<string, { run: string; business: string; expiry: number }>;
  runs: Map<string, ObservedRun>;
  /** Explicit business limits (members' limits from the database, then setLimits). */
  limits: Map<string, number | null>;
  groupLimit: number | null;
  passed: Map<string, string>;
}

/**
 * The contract seen from outside, written as plainly as possible: which jobs hold slots and which
 * wait in which run's line (learned from the answers), and the limits each level is under (from
 * the calls). It does not know how the limiter shares slots; it checks that whatever the limiter
 * chose keeps the guarantees:
 * - a grant never takes a run, business or group over its limit (a lowered limit lets live calls
 *   finish: a level may stay over only while nothing is granted there);
 * - promotions come from the head of their run's line (FIFO within a run);
 * - work-conserving: after every step, no waiting job could take a slot;
 * - the levels reported are those of the jobs held and waiting.
 */
export class SlotObserver {
  /** The clock the memory limiter reads, moved by ticks. */
  now = 0;
  readonly scopes = new Map<string, ObservedScope>();

  /**
   * @param members - each scope's member businesses and their limits, as the holder source lists them
   * @param holderLeaseMs - the limiter's lease for scopes first seen by an operation without one
   */
  constructor(
    private readonly members: Record<string, Record<string, number | null>>,
    private readonly holderLeaseMs: number,
  ) {}

  /** Whether `business` is a member of `scope` (else the limiter answers ScopeMovedError). */
  isMember(scope: string, business: string): boolean {
    return business in (this.members[scope] ?? {});
  }

  /** The scope as the limiter first builds it from the holder source (no holders, no lines). */
  open(scope: string, leaseMs: number): ObservedScope {
    let state = this.scopes.get(scope);
    if (!state) {
      const limits = new Map(Object.entries(this.members[scope] ?? {}));
      state = { leaseMs, holders: new Map(), runs: new Map(), limits, groupLimit: null, passed: new Map() };
      this.scopes.set(scope, state);
    }
    return state;
  }

  /** An acquire answered (with the jobs of other asks it promoted). */
  acquire(
    scope: string,
    jobs: readonly string[],
    ask: SlotAsk,
    leaseMs: number,
    result: AcquireManyResult,
  ): void {
    const others = result.promoted;
    const s = this.open(scope, leaseMs);
    s.leaseMs = leaseMs;
    const known = s.runs.get(ask.run);
    if (known) {
      known.retiring = false;
      if (known.provisional)
        Object.assign(known, { limit: ask.runLimit, weight: ask.priority ?? 1, provisional: false });
    } else
      s.runs.set(ask.run, {
        business: ask.business,
        limit: ask.runLimit,
        weight: ask.priority ?? 1,
        retiring: false,
        line: [],
      });
    const run = s.runs.get(ask.run) as ObservedRun;
    const granted: string[] = [];
    jobs.forEach((job, i) => {
      const status = result.statuses[i];
      if (s.holders.has(job)) expect(status, `${job} holds a slot`).toBe('inflight');
      else if (this.waitingRun(s, job) !== undefined) expect(status, `${job} waits`).toBe('already_queued');
      else {
        expect(['enqueued', 'acquired'], `${job} asks`).toContain(status);
        run.line.push(job);
        if (status === 'acquired') granted.push(job);
      }
    });
    // Within a run, the jobs promoted are the head of its line, in line order.
    const promoted = [...others, ...granted];
    for (const [id, r] of s.runs) {
      const mine = promoted.filter((job) => r.line.includes(job));
      expect(new Set(mine), `promotions of ${id} head its line`).toEqual(
        new Set(r.line.slice(0, mine.length)),
      );
      const signalled = others.filter((job) => r.line.includes(job));
      expect(signalled, `promotions of ${id} in line order`).toEqual(r.line.slice(0, signalled.length));
    }
    for (const job of promoted) this.grant(s, job);
    this.checkGrants(scope, s, promoted);
    expect(this.levelsOf(s, ask.run), 'acquire levels').toEqual(levelsOnly(result));
  }

  /** A release or pass answered. */
  release(scope: string, job: string, result: ReleaseResult, pass: boolean): void {
    const s = this.open(scope, this.holderLeaseMs);
    const holder = s.holders.get(job);
    if (!pass) expect(result.released, `release of ${job}`).toBe(holder !== undefined);
    if (!result.released) {
      expect(result.promoted).toEqual([]);
      if (holder) {
        // A pass that changed nothing: freeing the slot would have let nobody in.
        s.holders.delete(job);
        expect(this.eligible(s), `pass of ${job} refused with an eligible waiter`).toEqual([]);
        s.holders.set(job, holder);
      }
      expect(levelsOnly(result), 'release levels').toEqual(this.levelsOf(s, holder?.run));
      return;
    }
    expect(holder, `${job} released`).toBeDefined();
    if (pass) expect(result.promoted.length, 'a pass promotes').toBeGreaterThan(0);
    s.holders.delete(job);
    s.passed.delete(job);
    this.promoteInOrder(scope, s, result.promoted);
    const [first] = result.promoted;
    if (pass && first !== undefined) s.passed.set(first, job);
    expect(levelsOnly(result), 'release levels').toEqual(this.levelsOf(s, holder?.run));
    this.forgetIfIdle(s, holder?.run);
  }

  /** A setLimits answered. */
  setLimits(scope: string, change: LimitChange, promoted: string[]): void {
    const s = this.open(scope, this.holderLeaseMs);
    if (change.business) s.limits.set(change.business.id, change.business.limit);
    if (change.group !== undefined) s.groupLimit = change.group;
    if (change.run) {
      const { id, business, limit, priority } = change.run;
      const known = s.runs.get(id);
      if (known) Object.assign(known, { limit, weight: priority ?? 1, provisional: false });
      else s.runs.set(id, { business, limit, weight: priority ?? 1, retiring: true, line: [] });
    }
    this.promoteInOrder(scope, s, promoted);
  }

  /**
   * What the database would read for `scope`: its holders (the first listed twice when
   * `duplicate`), the members' limits, the limits of the known runs that `keep` selects.
   */
  read(scope: string, fence: number, keep: boolean[], duplicate: boolean): SlotHolders {
    const s = this.open(scope, this.holderLeaseMs);
    const holders = [...s.holders].map(([jobId, { run, business }]) => ({ jobId, run, business }));
    if (duplicate && holders[0]) holders.push(holders[0]);
    const runs = [...s.runs]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .filter((_, i) => keep[i % keep.length])
      .map(([run, { business, limit, weight }]) => ({ run, business, limit, priority: weight }));
    const members = [...s.limits].map(([business, limit]) => ({ business, limit }));
    return { fence, holders, members, runs, groupLimit: s.groupLimit };
  }

  /** A rebuild from `state`: the database's holders with fresh leases, no lines, its limits. */
  rebuild(scope: string, state: SlotHolders, leaseMs: number): void {
    this.scopes.delete(scope);
    const s = this.open(scope, leaseMs);
    s.limits = new Map(state.members.map((m) => [m.business, m.limit]));
    s.groupLimit = state.groupLimit;
    for (const { run, business, limit, priority } of state.runs)
      if (!s.runs.has(run))
        s.runs.set(run, { business, limit, weight: priority ?? 1, retiring: true, line: [] });
    for (const { jobId, run, business } of state.holders) {
      if (!s.runs.has(run))
        s.runs.set(run, { business, limit: 1, weight: 1, retiring: true, provisional: true, line: [] });
      s.holders.set(jobId, { run, business, expiry: this.now + leaseMs });
    }
  }

  /** A remove answered. */
  remove(scope: string, jobs: readonly string[], retire: string | undefined, count: number): void {
    const s = this.scopes.get(scope);
    if (!s) {
      expect(count).toBe(0);
      return;
    }
    const retired = retire === undefined ? undefined : s.runs.get(retire);
    if (retired) retired.retiring = true;
    let removed = 0;
    for (const job of jobs) {
      const runId = this.waitingRun(s, job);
      if (runId === undefined) continue;
      const run = s.runs.get(runId) as ObservedRun;
      run.line.splice(run.line.indexOf(job), 1);
      this.forgetIfIdle(s, runId);
      removed += 1;
    }
    this.forgetIfIdle(s, retire);
    expect(count, 'removed').toBe(removed);
  }

  /** A renew answered. */
  renew(scope: string, jobs: readonly string[], leaseMs: number, lost: string[]): void {
    const s = this.open(scope, leaseMs);
    for (const job of jobs) {
      const holder = s.holders.get(job);
      if (holder) holder.expiry = this.now + leaseMs;
    }
    expect(lost, 'renew').toEqual(jobs.filter((job) => !s.holders.has(job)));
  }

  /** A reclaim answered (only where the observer's clock is the limiter's). */
  reclaim(scope: string, leaseMs: number, ids: string[]): void {
    const s = this.scopes.get(scope);
    if (!s) {
      expect(ids).toEqual([]);
      return;
    }
    const expired = [...s.holders]
      .filter(([, holder]) => holder.expiry <= this.now)
      .sort(([a, x], [b, y]) => x.expiry - y.expiry || (a < b ? -1 : 1));
    for (const [, holder] of expired) holder.expiry = this.now + leaseMs;
    const expected = expired.flatMap(([job]) => {
      const from = s.passed.get(job);
      return from === undefined ? [job] : [from, job];
    });
    expect(ids, 'reclaim').toEqual(expected);
  }

  /** A passedFrom answered. */
  passedFrom(scope: string, job: string, from: string | undefined): void {
    expect(from, `passedFrom ${job}`).toBe(this.scopes.get(scope)?.passed.get(job));
  }

  /** The invariants that hold between steps: no job waits and holds, nothing eligible waits. */
  check(): void {
    for (const [scope, s] of this.scopes) {
      const waiting = [...s.runs.values()].flatMap((run) => run.line);
      expect(new Set(waiting).size, `${scope}: a job waits once`).toBe(waiting.length);
      for (const job of waiting) expect(s.holders.has(job), `${job} both waits and holds`).toBe(false);
      expect(this.eligible(s), `${scope}: work-conserving`).toEqual([]);
    }
  }

  private waitingRun(s: ObservedScope, job: string): string | undefined {
    for (const [id, run] of s.runs) if (run.line.includes(job)) return id;
    return undefined;
  }

  private grant(s: ObservedScope, job: string): void {
    const runId = this.waitingRun(s, job);
    expect(runId, `${job} promoted while not waiting`).toBeDefined();
    const run = s.runs.get(runId as string) as ObservedRun;
    run.line.splice(run.line.indexOf(job), 1);
    s.holders.set(job, { run: runId as string, business: run.business, expiry: this.now + s.leaseMs });
  }

  /** Promotions told in order: each heads its run's line when it is taken. */
  private promoteInOrder(scope: string, s: ObservedScope, promoted: string[]): void {
    for (const job of promoted) {
      const runId = this.waitingRun(s, job);
      expect(runId, `${job} promoted while not waiting`).toBeDefined();
      expect((s.runs.get(runId as string) as ObservedRun).line[0], `${job} heads its line`).toBe(job);
      this.grant(s, job);
    }
    this.checkGrants(scope, s, promoted);
  }

  /** Every level a grant went to is within its limit after the step. */
  private checkGrants(scope: string, s: ObservedScope, granted: string[]): void {
    for (const job of granted) {
      const { run, business } = s.holders.get(job) as { run: string; business: string };
      const held = this.held(s);
      expect(held.runs.get(run), `${scope}: run ${run} over its limit`).toBeLessThanOrEqual(
        (s.runs.get(run) as ObservedRun).limit,
      );
      expect(
        held.businesses.get(business),
        `${scope}: business ${business} over its limit`,
      ).toBeLessThanOrEqual(this.businessLimit(s, business));
      if (s.groupLimit !== null)
        expect(s.holders.size, `${scope}: group over its limit`).toBeLessThanOrEqual(s.groupLimit);
    }
  }

  private held(s: ObservedScope): { runs: Map<string, number>; businesses: Map<string, number> } {
    const runs = new Map<string, number>();
    const businesses = new Map<string, number>();
    for (const { run, business } of s.holders.values()) {
      runs.set(run, (runs.get(run) ?? 0) + 1);
      businesses.set(business, (businesses.get(business) ?? 0) + 1);
    }
    return { runs, businesses };
  }

  private businessLimit(s: ObservedScope, business: string): number {
    const own = s.limits.get(business);
    if (own !== null && own !== undefined) return own;
    let highest = 0;
    for (const run of s.runs.values()) if (run.business === business) highest = Math.max(highest, run.limit);
    return highest;
  }

  /** Runs whose head could take a slot now. */
  private eligible(s: ObservedScope): string[] {
    const held = this.held(s);
    if (s.groupLimit !== null && s.holders.size >= s.groupLimit) return [];
    return [...s.runs]
      .filter(
        ([id, run]) =>
          run.line.length > 0 &&
          (held.runs.get(id) ?? 0) < run.limit &&
          (held.businesses.get(run.business) ?? 0) < this.businessLimit(s, run.business),
      )
      .map(([id]) => id);
  }

  private forgetIfIdle(s: ObservedScope, runId: string | undefined): void {
    const run = runId === undefined ? undefined : s.runs.get(runId);
    if (!run?.retiring || run.line.length > 0) return;
    if ([...s.holders.values()].some((holder) => holder.run === runId)) return;
    s.runs.delete(runId as string);
  }

  private levelsOf(s: ObservedScope, runId: string | undefined): SlotLevels {
    const run = runId === undefined ? undefined : s.runs.get(runId);
    const held = this.held(s);
    const levels: SlotLevels = {
      active: run ? (held.businesses.get(run.business) ?? 0) : 0,
      limit: run ? this.businessLimit(s, run.business) : 0,
      runActive: run ? (held.runs.get(runId as string) ?? 0) : 0,
      runLimit: run?.limit ?? 0,
      queueLength: run?.line.length ?? 0,
    };
    if (s.groupLimit !== null) {
      levels.groupActive = s.holders.size;
      levels.groupLimit = s.groupLimit;
    }
    return levels;
  }
}

/** The levels of a result, without its other fields and its fencing token. */
export function levelsOnly(result: SlotLevels): SlotLevels {
  const { active, limit, runActive, runLimit, queueLength, groupActive, groupLimit } = result;
  const levels: SlotLevels = { active, limit, runActive, runLimit, queueLength };
  if (groupLimit !== undefined) {
    levels.groupActive = groupActive;
    levels.groupLimit = groupLimit;
  }
  return levels;
}
