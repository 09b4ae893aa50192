import type { ValidationIssue } from '../errors.js';
import {
  type JobStatus,
  RETRY_OUTCOMES,
  type RetryOutcome,
  type RetryRule,
  type RunRetryPolicy,
} from '../types.js';

/** Most attempts a retry rule may allow. */
const MAX_RULE_ATTEMPTS = 20;
/** Longest wait a retry rule may ask for: 30 days. */
const MAX_RULE_DELAY_MS = 30 * 24 * 3_600_000;

/** `answeredBy` verdicts of answering machine detection that count as the `machine` outcome (Twilio's spelling). */
const MACHINE_VERDICTS = new Set([
  'machine_start',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
  'fax',
]);

/**
 * The retry outcome of a call's end, if it has one.
 * @param status - the job status the call ended with
 * @param answeredBy - answering machine detection's verdict, if any
 * @returns `busy`, `no_answer`, `failed`, `machine` (a call answered by a machine or a fax), or
 *   undefined (answered by a person, canceled)
 */
export function retryOutcomeOf(status: JobStatus, answeredBy?: string): RetryOutcome | undefined {
  if (status === 'busy' || status === 'no_answer' || status === 'failed') return status;
  if (status === 'completed' && answeredBy !== undefined && MACHINE_VERDICTS.has(answeredBy))
    return 'machine';
  return undefined;
}

/**
 * The wait before the next attempt under `rule`, after attempt number `ended` (from 1).
 * @param random - a number in [0, 1) for the jitter
 * @returns the wait in ms
 */
function retryDelayMs(rule: RetryRule, ended: number, random: number): number {
  const base = rule.backoff === 'exponential' ? rule.delayMs * 2 ** Math.max(0, ended - 1) : rule.delayMs;
  const capped = Math.min(base, MAX_RULE_DELAY_MS);
  return Math.round(capped * (1 - (rule.jitter ?? 0) * random));
}

/**
 * When a job whose attempt number `attempt` ended with `outcome` is dialed again, under its run's
 * policy; undefined when it is not (no rule for the outcome, or no attempt left).
 * @param now - current time, epoch ms
 * @param random - a number in [0, 1) for the jitter
 */
export function retryAt(
  policy: RunRetryPolicy | undefined,
  outcome: RetryOutcome | undefined,
  attempt: number,
  now: number,
  random: number,
): number | undefined {
  const rule = outcome === undefined ? undefined : policy?.[outcome];
  if (!rule || attempt >= rule.maxAttempts) return undefined;
  return now + retryDelayMs(rule, attempt, random);
}

function isWholeIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Checks a run's `retry` field and names every bad part of it.
 * @param value - the field as the host passed it
 * @param add - collects each problem
 */
export function checkRetryPolicy(value: unknown, add: (issue: ValidationIssue) => void): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    add({ field: 'retry', message: `must be an object of rules by outcome (${RETRY_OUTCOMES.join(', ')})` });
    return;
  }
  for (const [outcome, rule] of Object.entries(value)) {
    const field = `retry.${outcome}`;
    if (!(RETRY_OUTCOMES as readonly string[]).includes(outcome)) {
      add({ field, message: `is not an outcome that can be retried (${RETRY_OUTCOMES.join(', ')})` });
      continue;
    }
    if (rule === undefined) continue;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
      add({ field, message: 'must be an object { maxAttempts, delayMs, backoff?, jitter? }' });
      continue;
    }
    const r = rule as Record<string, unknown>;
    if (!isWholeIn(r.maxAttempts, 1, MAX_RULE_ATTEMPTS))
      add({
        field: `${field}.maxAttempts`,
        message: `must be a whole number from 1 to ${MAX_RULE_ATTEMPTS}`,
      });
    if (!isWholeIn(r.delayMs, 0, MAX_RULE_DELAY_MS))
      add({
        field: `${field}.delayMs`,
        message: `must be a whole number of ms from 0 to ${MAX_RULE_DELAY_MS} (30 days)`,
      });
    if (r.backoff !== undefined && r.backoff !== 'fixed' && r.backoff !== 'exponential')
      add({ field: `${field}.backoff`, message: "must be 'fixed' or 'exponential'" });
    if (r.jitter !== undefined && (typeof r.jitter !== 'number' || !(r.jitter >= 0 && r.jitter <= 1)))
      add({ field: `${field}.jitter`, message: 'must be a number from 0 to 1' });
    for (const key of Object.keys(r)) {
      if (!['maxAttempts', 'delayMs', 'backoff', 'jitter'].includes(key))
        add({ field: `${field}.${key}`, message: 'is not a field of a retry rule' });
    }
  }
}

/** Runs whose retry rules are kept in memory; the map starts over past this many. */
const POLICIES_KEPT = 10_000;

/** What a retry decision needs of the job: its run and the number of the attempt that ended. */
export interface AttemptOf {
  runId: string;
  attempt: number;
}

/**
 * Decides whether the end of a call is retried, by its run's rules: read from the store once per
 * run and kept (a run's rules never change).
 */
export class OutcomeRetries {
  private readonly policies = new Map<string, RunRetryPolicy | null>();

  /**
   * @param read - reads a run's rules (undefined: none)
   * @param readAttempt - reads the run and attempt number of a job this process did not claim
   * @param random - numbers in [0, 1) for the jitter
   */
  constructor(
    private readonly read: (runId: string) => Promise<RunRetryPolicy | undefined>,
    private readonly readAttempt: (jobId: string) => Promise<AttemptOf | undefined>,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Keeps the rules of a run this process has in hand, sparing a read.
   * @param runId - the run
   * @param policy - its rules, if any
   */
  know(runId: string, policy: RunRetryPolicy | undefined): void {
    if (this.policies.size >= POLICIES_KEPT) this.policies.clear();
    this.policies.set(runId, policy ?? null);
  }

  /**
   * When the job is to be dialed again after its call ended with `status`. Decided at once (no
   * promise) when nothing needs reading: an end that is no retry outcome, or the claim and its
   * run's rules in hand. So an in-process dialer's end goes to the store in the same turn, and the
   * claim of the job its slot was passed to can join that write.
   * @param jobId - the job
   * @param status - the job status its call ended with
   * @param answeredBy - answering machine detection's verdict, if any
   * @param now - current time, epoch ms
   * @param known - the job's run and attempt when this process holds its claim (else read)
   * @returns the retry time, or undefined when the end is final; a promise of it when the job's
   *   run or rules had to be read
   */
  retryAt(
    jobId: string,
    status: JobStatus,
    answeredBy: string | undefined,
    now: number,
    known?: AttemptOf,
  ): number | undefined | Promise<number | undefined> {
    const outcome = retryOutcomeOf(status, answeredBy);
    if (outcome === undefined) return undefined;
    const decide = (of: AttemptOf | undefined, policy: RunRetryPolicy | undefined) =>
      of === undefined ? undefined : retryAt(policy, outcome, of.attempt, now, this.random());
    const kept = known && this.policies.get(known.runId);
    if (known && kept !== undefined) return decide(known, kept ?? undefined);
    return (async () => {
      const of = known ?? (await this.readAttempt(jobId));
      return of === undefined ? undefined : decide(of, await this.policyOf(of.runId));
    })();
  }

  private async policyOf(runId: string): Promise<RunRetryPolicy | undefined> {
    const kept = this.policies.get(runId);
    if (kept !== undefined) return kept ?? undefined;
    const policy = await this.read(runId);
    this.know(runId, policy);
    return policy;
  }
}
