import type { EndedCall } from '../store/job-store.js';

/**
 * The phases of one attempt of this process on a job, in the order it goes through them. An
 * attempt only moves forward; any phase may be skipped (a grant given back unused goes from
 * `granted` to `ending`).
 *
 * - `granted`: the limiter handed the job a slot; it may wait here for its dial-start turn.
 * - `claiming`: the claim (a compare-and-set writing a fresh lock token) is being written.
 * - `claimed`: the claim holds; the checks before `dial()` run (stopped run, slot confirmation).
 * - `dialing`: `dial()` was called; until its outcome is written (the call id, the failure, the
 *   unknown outcome resolved), nobody else may decide what became of the call.
 * - `placed`: the call id is written (or a live call was adopted); the slot is held until the
 *   call's end is written.
 * - `ending`: the slot is being freed and handed on.
 * - `ended`: this process has nothing left of the attempt.
 */
export const ATTEMPT_PHASES = [
  'granted',
  'claiming',
  'claimed',
  'dialing',
  'placed',
  'ending',
  'ended',
] as const;

/** One of {@link ATTEMPT_PHASES}. */
export type AttemptPhase = (typeof ATTEMPT_PHASES)[number];

const order = (phase: AttemptPhase): number => ATTEMPT_PHASES.indexOf(phase);

/** The end of a call whose slot was passed on before the end was written (`SlotLimiter.pass`). */
export interface PendingEnd extends EndedCall {
  /** Resolves true once the end is written (or found written by another), false if it was given up. */
  written: Promise<boolean>;
}

/** A slot just granted: the key's counters for the logs, and what the claim must check. */
export interface GrantedSlot {
  /** Slots held after the grant. */
  active: number;
  /** The business's limit. */
  limit: number;
  /** The limiter key's fencing token that came with the grant (limiters that can lose state). */
  fence?: number;
  /** When the grant was asked for (`ctx.now()` before the acquire or release call). */
  askedAt: number;
  /**
   * For a slot freed by an ended call and handed on: when that end reached this process
   * (`performance.now()`, for `JobDialingEvent.handOffMs`).
   */
  freedAt?: number;
  /** The job's business, when the grant's asker knows it (its dial rates). */
  business?: string;
  /**
   * The end whose slot this grant took, still being written: the claim is written with it, after
   * it, and never before it.
   */
  after?: PendingEnd;
}

/**
 * A grant whose counters and age nobody knows (a slot reclaimed from a dead process, a job handed
 * over): asked "long ago", so the slot is confirmed in the limiter before the call.
 * @param fence - the fencing token to claim with, when known
 */
export function unconfirmedGrant(fence: number | undefined): GrantedSlot {
  return { active: 0, limit: 0, fence, askedAt: Number.NEGATIVE_INFINITY };
}

/** One attempt, as the book keeps it. */
export interface Attempt {
  /** The job the slot was granted to (the limiter's slot holder). */
  readonly jobId: string;
  /** The limiter scope of the slot (its business's own, or its group's). */
  readonly key: string;
  /** Where the attempt stands. */
  readonly phase: AttemptPhase;
  /** Whether this process holds the slot: renewed from the grant until it is freed or lost. */
  readonly held: boolean;
  /** The run of the job, once claimed. */
  readonly runId: string | undefined;
  /** The job's attempt number this claim wrote (`ClaimedJob.attempt`), once claimed. */
  readonly number: number | undefined;
}

/** The book's record of an attempt: only {@link Attempts} changes it. */
class AttemptRecord implements Attempt {
  phase: AttemptPhase;
  held = true;
  /** Whether `dial()` was called and has not answered yet. */
  awaitingAnswer = false;
  runId: string | undefined;
  number: number | undefined;
  /** The business of the job, once claimed. */
  businessId: string | undefined;
  /** The work this process does for the attempt, from the grant until the call is placed. */
  task: Promise<void> | undefined;
  /** Resolves when the attempt passes `dial()` (or ends without it). */
  readonly pastDial: Promise<void>;
  passDial!: () => void;

  constructor(
    readonly jobId: string,
    public key: string,
    phase: AttemptPhase,
  ) {
    this.phase = phase;
    this.pastDial = new Promise((resolve) => {
      this.passDial = resolve;
    });
    if (order(phase) >= order('dialing')) this.passDial();
  }
}

/**
 * Every attempt of this process, one record per job, and the only way to change one. What the
 * dispatcher, the hand-off, the renewals and the reconciler need to know of this process's
 * attempts (which slots to renew, whether a job is being claimed or dialed here, which claims
 * have not dialed yet) is read from here.
 */
export class Attempts {
  private readonly records = new Map<string, AttemptRecord>();
  /** The work of every attempt still running, including attempts a newer one replaced. */
  private readonly tasks = new Set<Promise<void>>();

  /**
   * Starts an attempt for a slot just granted to `jobId`, and runs its work.
   * @param key - limiter scope
   * @param jobId - the job granted the slot
   * @param work - claims and dials the job, moving its attempt on; the attempt is held (renewed)
   *   while it runs
   * @returns false when this process has an attempt on the job short of its call already
   *   (nothing started). One whose call is placed gives way to the new one: a job is granted a
   *   slot only while it holds none, so that call's slot was freed elsewhere (another process
   *   wrote its end and put the job back in line for a retry). One that is ending gives way too.
   */
  grant(key: string, jobId: string, work: (attempt: Attempt) => Promise<void>): boolean {
    const current = this.records.get(jobId);
    if (current && order(current.phase) < order('placed')) return false;
    const record = new AttemptRecord(jobId, key, 'granted');
    this.records.set(jobId, record);
    const task = work(record).finally(() => {
      this.tasks.delete(task);
      record.task = undefined;
      record.passDial();
      // An attempt left short of `placed` by its work (a failure on the way) is not renewed any
      // more: its lease runs out and the reconciler resolves the job.
      if (order(record.phase) < order('placed')) record.held = false;
      this.dropIfDone(record);
    });
    record.task = task;
    this.tasks.add(task);
    return true;
  }

  /**
   * Holds the slot of a live call this process did not place (adopted by the reconciler), or
   * holds again a slot the reconciler found expired while this process's attempt was under way.
   * @param key - limiter scope
   * @param jobId - the job whose slot is held
   */
  hold(key: string, jobId: string): void {
    const record = this.records.get(jobId);
    if (record && order(record.phase) < order('ending')) record.held = true;
    else this.records.set(jobId, new AttemptRecord(jobId, key, 'placed'));
  }

  /**
   * Moves an attempt forward. A move to an earlier phase changes nothing: the later one stands
   * (a call's end written before `dial()` returned leaves the attempt `ending`).
   * @param attempt - the attempt, as {@link Attempts.grant} or {@link Attempts.get} gave it: a
   *   newer attempt on the same job is never moved by the older one's work
   * @param phase - the phase it reached
   * @param claim - with `claimed`: the run of the claimed job and the attempt number it wrote
   */
  advance(
    attempt: Attempt | undefined,
    phase: AttemptPhase,
    claim?: { runId: string; attempt: number; businessId?: string },
  ): void {
    const record = attempt && this.records.get(attempt.jobId);
    if (record !== attempt || !record || order(phase) < order(record.phase)) return;
    if (claim !== undefined) {
      record.runId = claim.runId;
      record.number = claim.attempt;
      record.businessId = claim.businessId;
    }
    if (phase === 'dialing' && record.phase !== 'dialing') record.awaitingAnswer = true;
    record.phase = phase;
    if (order(phase) >= order('dialing')) record.passDial();
    if (order(phase) >= order('ending')) record.held = false;
    this.dropIfDone(record);
  }

  /** The attempt's `dial()` answered (or threw). */
  answered(attempt: Attempt): void {
    const record = this.records.get(attempt.jobId);
    if (record === attempt) record.awaitingAnswer = false;
  }

  /**
   * A business moved to scope `key` (it joined or left a group): the slots of its claimed jobs
   * live there now (the new scope was read from the database, its calls counted), so they are
   * renewed and freed there.
   */
  rekey(businessId: string, key: string): void {
    for (const record of this.records.values()) if (record.businessId === businessId) record.key = key;
  }

  /** The limiter says `jobId` holds no slot any more: stop renewing it. */
  lost(jobId: string): void {
    const record = this.records.get(jobId);
    if (!record) return;
    record.held = false;
    this.dropIfDone(record);
  }

  /**
   * The run and attempt number of this process's claim on `jobId`, when it has one.
   * @returns undefined when it has no attempt on the job, or one not claimed yet (or adopted)
   */
  claimOf(jobId: string): { runId: string; attempt: number } | undefined {
    const record = this.records.get(jobId);
    if (record?.runId === undefined || record.number === undefined) return undefined;
    return { runId: record.runId, attempt: record.number };
  }

  /** The attempt on `jobId`, if this process has one. */
  get(jobId: string): Attempt | undefined {
    return this.records.get(jobId);
  }

  /** Whether `jobId` was granted a slot here and its claim is not answered yet (it may read queued). */
  isClaiming(jobId: string): boolean {
    const phase = this.records.get(jobId)?.phase;
    return phase === 'granted' || phase === 'claiming';
  }

  /** Whether `dial()` of `jobId` was called here and its outcome is not written yet. */
  isDialing(jobId: string): boolean {
    return this.records.get(jobId)?.phase === 'dialing';
  }

  /** Whether `dial()` of `jobId` was called here and has not answered yet. */
  awaitsAnswer(jobId: string): boolean {
    return this.records.get(jobId)?.awaitingAnswer === true;
  }

  /** The slots this process holds: job id -> limiter key. */
  held(): Map<string, string> {
    const held = new Map<string, string>();
    for (const record of this.records.values()) if (record.held) held.set(record.jobId, record.key);
    return held;
  }

  /**
   * Resolves when every claim of `runId` made so far (and every claim being written, whose run is
   * not known yet) has passed `dial()` or ended. A grant still waiting for its claim is not waited
   * for: its claim comes after the run's stop and fails.
   */
  async settleClaims(runId: string): Promise<void> {
    const claims = [...this.records.values()].filter(
      (record) => record.phase === 'claiming' || (record.phase === 'claimed' && record.runId === runId),
    );
    await Promise.all(claims.map((record) => record.pastDial));
  }

  /** Resolves when the work of every attempt (up to its call placed) has finished. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** An attempt that holds no slot and has no work running is forgotten. */
  private dropIfDone(record: AttemptRecord): void {
    if (record.held || record.task !== undefined) return;
    record.passDial();
    if (this.records.get(record.jobId) === record) this.records.delete(record.jobId);
  }
}
