import type { CompiledQuery, QueryResult } from 'kysely';
import type { EndedCall } from '../job-store.js';
import { isTerminal } from '../job-transitions.js';
import type {
  BatchStatements,
  ClaimedRow,
  ClaimInput,
  DialedInput,
  DialedRow,
  HandOffRow,
  RoutedRow,
  TransitionInput,
} from './kysely-batch-statements.js';

/** A write waiting for its batch, and the caller waiting for the row it changed (if any). */
interface Waiting<I, R> {
  jobId: string;
  input: I;
  resolve(row: R | undefined): void;
  reject(err: unknown): void;
  /** A claim's: the job whose status change of the same batch it follows, if any. */
  after?: string;
}

/** The writes of one batch: each job appears at most once, across all three kinds. */
class Batch {
  readonly jobs = new Set<string>();
  readonly claims: Waiting<ClaimInput, ClaimedRow>[] = [];
  readonly dialed: Waiting<DialedInput, DialedRow>[] = [];
  readonly transitions: Waiting<TransitionInput, RoutedRow>[] = [];
  /** Some claim follows a status change of this batch: the changes are written first. */
  ordered = false;
}

/** The writes of a list that failed, by job id, with their errors. */
type Failures = Map<string, unknown>;

/** Runs one statement on the store's database (serialized on SQLite). */
export type ExecuteQuery = <R>(query: CompiledQuery<R>) => Promise<QueryResult<R>>;

/**
 * Group commit for the store's per-call writes. Claims, call-id writes and status changes made
 * during one turn of the event loop, or while the previous batch was being written, are written
 * together: one multi-row statement per kind ({@link BatchStatements}). An idle process writes a
 * lone call's claim without waiting for a timer; a busy one writes tens of calls per statement,
 * which cuts both the statements and, on SQLite, the commits per call. A claim that follows a
 * call's end ({@link WriteBatcher.claimAfter}) is written in one statement with it.
 *
 * Order is kept per job: a job already in the open batch starts a new batch, and batches are
 * written one after the other. Every caller gets its own answer; a statement that fails is
 * retried one row at a time, so that one bad row fails only its own write.
 */
export class WriteBatcher {
  private open: Batch | undefined;
  /** Batches closed because a job came again, oldest first; written before `open`. */
  private readonly closed: Batch[] = [];
  /** Some write waits for a flush that is scheduled, or that the write in flight will schedule. */
  private due = false;
  /** A batch was written in this turn of the event loop (cleared by `setImmediate`). */
  private turnUsed = false;
  private writing = false;

  /**
   * @param statements - the multi-row statements
   * @param execute - runs one statement on the store's database
   */
  constructor(
    private readonly statements: BatchStatements,
    private readonly execute: ExecuteQuery,
  ) {}

  /** Claims a job (see {@link BatchStatements.claim}): the claimed row, or undefined when the claim lost. */
  claim(input: ClaimInput): Promise<ClaimedRow | undefined> {
    return this.add(input.jobId, input, (batch) => batch.claims);
  }

  /**
   * Claims a job in one statement with the end of `end` (a terminal status change of its job under
   * its lock token) that waits in the batch not written yet. Should that statement fail, the end
   * is written on its own, and the claim only if the end's write did not fail (it fails with the
   * end's error otherwise).
   * @returns the claim's answer, or undefined (nothing added) when no such end waits
   */
  claimAfter(end: EndedCall, input: ClaimInput): Promise<ClaimedRow | undefined> | undefined {
    const batch = this.open;
    if (!batch || batch.jobs.has(input.jobId)) return undefined;
    const ending = ({ jobId, input: { change } }: Waiting<TransitionInput, RoutedRow>) =>
      jobId === end.jobId && change.lockToken === end.lockToken && isTerminal(change.status);
    if (!batch.transitions.some(ending)) return undefined;
    batch.jobs.add(input.jobId);
    batch.ordered = true;
    // The batch is due already: its status change scheduled it.
    return new Promise<ClaimedRow | undefined>((resolve, reject) => {
      batch.claims.push({ jobId: input.jobId, input, resolve, reject, after: end.jobId });
    });
  }

  /** Records a call id: the job's id when its lock token still matched, else undefined. */
  dialed(input: DialedInput): Promise<DialedRow | undefined> {
    return this.add(input.jobId, input, (batch) => batch.dialed);
  }

  /** Moves a job's status: its routing columns when it moved, else undefined. */
  transition(input: TransitionInput): Promise<RoutedRow | undefined> {
    return this.add(input.change.jobId, input, (batch) => batch.transitions);
  }

  private add<I, R>(
    jobId: string,
    input: I,
    list: (batch: Batch) => Waiting<I, R>[],
  ): Promise<R | undefined> {
    let batch = this.open;
    if (batch?.jobs.has(jobId)) {
      this.closed.push(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = new Batch();
      this.open = batch;
    }
    batch.jobs.add(jobId);
    const target = list(batch);
    const answer = new Promise<R | undefined>((resolve, reject) => {
      target.push({ jobId, input, resolve, reject });
    });
    this.schedule();
    return answer;
  }

  /**
   * Writes the waiting batches soon. The first write of a turn of the event loop goes out on
   * `process.nextTick`: an idle process does not wait, and a write made from promise work (an
   * answer awaited) waits for the promise jobs queued then, so that what one event set off goes
   * in one batch (a call's end and the claim of the job its slot was passed to). Later writes of the same turn, and writes made while
   * one is in flight, wait for the next turn (`setImmediate`) and go together: under load, one
   * batch per kind per turn.
   */
  private schedule(): void {
    if (this.due) return;
    this.due = true;
    if (this.writing) return;
    if (this.turnUsed) setImmediate(() => void this.writeAll());
    else process.nextTick(() => void this.writeAll());
  }

  private async writeAll(): Promise<void> {
    this.due = false;
    this.writing = true;
    if (!this.turnUsed) {
      this.turnUsed = true;
      setImmediate(() => {
        this.turnUsed = false;
      });
    }
    const batches = this.closed.splice(0);
    if (this.open !== undefined) batches.push(this.open);
    this.open = undefined;
    for (const batch of batches) await this.write(batch);
    this.writing = false;
    // Writes made meanwhile form the next batch.
    if (this.due) {
      this.due = false;
      this.schedule();
    }
  }

  private async write(batch: Batch): Promise<void> {
    const { statements } = this;
    const claim = (items: ClaimInput[]) => statements.claim(items);
    const dialed = this.apply(batch.dialed, (items) => statements.dialed(items));
    if (!batch.ordered) {
      await Promise.all([
        this.apply(batch.claims, claim),
        dialed,
        this.apply(batch.transitions, (items) => statements.transition(items)),
      ]);
      return;
    }
    // A claim that follows a status change is written in one statement with it: no read sees the
    // new call live beside the one that ended. Should that statement fail, each change is written
    // on its own first, and a claim only after its own change was.
    const following = batch.claims.filter((w) => w.after !== undefined);
    const others = this.apply(
      batch.claims.filter((w) => w.after === undefined),
      claim,
    );
    if (!(await this.handOff(batch.transitions, following))) {
      const failed = await this.apply(batch.transitions, (items) => statements.transition(items));
      const claims: Batch['claims'] = [];
      for (const w of following) {
        if (w.after !== undefined && failed.has(w.after)) w.reject(failed.get(w.after));
        else claims.push(w);
      }
      await this.apply(claims, claim);
    }
    await Promise.all([others, dialed]);
  }

  /**
   * Writes status changes and the claims that follow them in one statement, and answers each.
   * @returns false when the statement failed (nobody is answered: the caller writes them apart)
   */
  private async handOff(transitions: Batch['transitions'], claims: Batch['claims']): Promise<boolean> {
    let rows: HandOffRow[];
    try {
      const query = this.statements.handOff(
        transitions.map((w) => w.input),
        claims.map((w) => w.input),
      );
      ({ rows } = await this.execute(query));
    } catch {
      // Written apart instead, each caller answered by its own statement (a claim that the lost
      // answer of this one had written reads as refused: its caller checks its token).
      return false;
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const one of transitions) one.resolve(byId.get(one.jobId));
    for (const one of claims) one.resolve(byId.get(one.jobId));
    return true;
  }

  /**
   * Writes `waiting` in one statement and answers each caller; never rejects.
   * @returns the writes that failed, with their errors
   */
  private async apply<I, R extends { id: string }>(
    waiting: Waiting<I, R>[],
    build: (items: I[]) => CompiledQuery<R>,
  ): Promise<Failures> {
    const failures: Failures = new Map();
    if (waiting.length === 0) return failures;
    // In id order, as PostgreSQL's primary key index has them (job ids are lowercase letters and
    // digits, which sort alike in JavaScript and in any collation): concurrent batches, and a
    // cancel, then lock shared rows in one order and cannot deadlock.
    waiting.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
    let rows: R[];
    try {
      ({ rows } = await this.execute(build(waiting.map((w) => w.input))));
    } catch (err) {
      const [only] = waiting;
      if (waiting.length === 1 && only) {
        only.reject(err);
        failures.set(only.jobId, err);
        return failures;
      }
      // One bad row fails the whole statement: write each on its own, so only its own write fails.
      for (const one of waiting) for (const [id, e] of await this.apply([one], build)) failures.set(id, e);
      return failures;
    }
    const byId = new Map<string, R>();
    for (const row of rows) byId.set(row.id, row);
    for (const one of waiting) one.resolve(byId.get(one.jobId));
    return failures;
  }
}
