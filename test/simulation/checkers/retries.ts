import type { RetryRule, RunRetryPolicy } from '../../../src/types.js';
import type { Checker, Violation } from '../outcome.js';
import type { TraceEntry } from '../trace.js';

/** The retry outcome of a provider's terminal call status (the simulated provider reports no AMD). */
const OUTCOME: Record<string, keyof RunRetryPolicy | undefined> = {
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
};

interface PlacedCall {
  callId: string;
  attempt: number;
  end?: TraceEntry;
}

/** The shortest wait `rule` allows after attempt `attempt` ended (full jitter taken off). */
function shortestWait(rule: RetryRule, attempt: number): number {
  const base = rule.backoff === 'exponential' ? rule.delayMs * 2 ** (attempt - 1) : rule.delayMs;
  return Math.floor(base * (1 - (rule.jitter ?? 0)));
}

/**
 * Retries by outcome, seen from the provider: a job's calls never overlap; a job is dialed again
 * after a placed call only when that call ended at the provider with an outcome its run retries
 * and the call's attempt was below the rule's `maxAttempts`; and never before the rule's wait.
 * (A dial that placed no call is the at-most-once checker's.)
 */
export const checkRetries: Checker = ({ trace, jobs, workload }) => {
  const violations: Violation[] = [];
  const policyOf = new Map(workload.runs.map((r) => [r.runId, r.retry]));
  const runOf = new Map(jobs.map((j) => [j.jobId, j.runId]));
  const calls = new Map<string, PlacedCall[]>();
  for (const e of trace) {
    if (!e.jobId) continue;
    const placed = calls.get(e.jobId) ?? [];
    calls.set(e.jobId, placed);
    if (e.ev === 'call:end') {
      const call = placed.find((c) => c.callId === e.callId);
      if (call && !call.end) call.end = e;
      continue;
    }
    if (e.ev === 'call:start' && e.callId) {
      placed.push({ callId: e.callId, attempt: e.attempt ?? 0 });
      continue;
    }
    const before = placed[placed.length - 1];
    if (e.ev !== 'dial:start' || !before) continue;
    const what = `job ${e.jobId} dialed again (attempt ${e.attempt}, line ${e.seq}) after call ${before.callId}`;
    if (!before.end) {
      violations.push({ checker: 'retries', t: e.t, message: `${what} while that call was live` });
      continue;
    }
    const outcome = OUTCOME[before.end.status ?? ''];
    const rule = outcome ? policyOf.get(runOf.get(e.jobId) ?? '')?.[outcome] : undefined;
    if (!rule || before.attempt >= rule.maxAttempts) {
      const why = rule
        ? `its attempt ${before.attempt} was the last of ${rule.maxAttempts}`
        : 'its run does not retry it';
      violations.push({ checker: 'retries', t: e.t, message: `${what} ended ${before.end.status}: ${why}` });
      continue;
    }
    const waited = e.t - before.end.t;
    if (waited < shortestWait(rule, before.attempt))
      violations.push({
        checker: 'retries',
        t: e.t,
        message: `${what} after ${waited} ms, sooner than the rule's ${shortestWait(rule, before.attempt)} ms`,
      });
  }
  return violations;
};
