import type { Checker, Violation } from '../outcome.js';

const TERMINAL = new Set(['completed', 'busy', 'no_answer', 'failed', 'canceled']);

/**
 * Guarantee 3 (no stall): once the faults end, the jobs keep moving until every one is terminal;
 * no stretch of `stallBoundMs` passes without progress (a dial, a call's end, a job becoming
 * terminal) while some job is not terminal, and no call is left live at the provider.
 */
export const checkNoStall: Checker = ({ gaveUp, jobs, stallBoundMs, trace }) => {
  const violations: Violation[] = [];
  if (gaveUp) {
    const stuck = jobs.filter((j) => !TERMINAL.has(j.status));
    const sample = stuck
      .slice(0, 5)
      .map((j) => `${j.jobId}:${j.status}${j.errorCode ? `/${j.errorCode}` : ''}`)
      .join(', ');
    violations.push({
      checker: 'no-stall',
      t: gaveUp.at,
      message: `${gaveUp.unfinished} jobs not terminal and no progress for ${gaveUp.at - gaveUp.lastProgress} ms (bound ${stallBoundMs} ms): ${sample}`,
    });
  }
  const open = new Set<string>();
  for (const e of trace) {
    if (e.ev === 'call:start' && e.callId) open.add(e.callId);
    if (e.ev === 'call:end' && e.callId) open.delete(e.callId);
  }
  if (open.size > 0)
    violations.push({
      checker: 'no-stall',
      message: `calls never ended at the provider: ${[...open].join(', ')}`,
    });
  return violations;
};
