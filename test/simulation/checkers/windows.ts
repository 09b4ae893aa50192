import type { Checker, Violation } from '../outcome.js';

/**
 * Calling windows, seen from the dialer: every `dial()` of a job of a windowed run starts inside
 * one of the run's open spans, before the span's end minus its margin. The spans are the plan's
 * own minute arithmetic (London is on UTC in January), not the engine's time zone code.
 */
export const checkWindows: Checker = ({ trace, jobs, workload }) => {
  const violations: Violation[] = [];
  const spansOf = new Map(workload.runs.map((r) => [r.runId, r.openSpans]));
  const runOf = new Map(jobs.map((j) => [j.jobId, j.runId]));
  for (const e of trace) {
    if (e.ev !== 'dial:start' || !e.jobId) continue;
    const spans = spansOf.get(runOf.get(e.jobId) ?? '');
    if (!spans || spans.some(([from, until]) => e.t >= from && e.t < until)) continue;
    violations.push({
      checker: 'windows',
      t: e.t,
      message: `job ${e.jobId} dialed at ${e.t} ms (line ${e.seq}), outside its run's calling window`,
    });
  }
  return violations;
};
