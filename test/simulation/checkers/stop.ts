import type { Checker, Violation } from '../outcome.js';

/**
 * Guarantee 5 (stop): once `stop()` resolved, no `dial()` of that run starts again, every job of
 * the run was terminal or had its call placed at that moment, and the run reads `stopped` (or
 * `completed`, had it finished before) at the end.
 */
export const checkStop: Checker = ({ trace, runs, unplacedAtStop }) => {
  const violations: Violation[] = [];
  const stoppedAt = new Map<string, number>();
  for (const e of trace) {
    if (e.ev === 'run:stopped' && e.runId && !stoppedAt.has(e.runId)) stoppedAt.set(e.runId, e.seq);
    if (e.ev === 'dial:start' && e.runId && stoppedAt.has(e.runId)) {
      violations.push({
        checker: 'stop',
        t: e.t,
        message: `job ${e.jobId} of run ${e.runId} dialed (line ${e.seq}) after stop() resolved (line ${stoppedAt.get(e.runId)})`,
      });
    }
  }
  for (const { runId, jobId, status } of unplacedAtStop) {
    violations.push({
      checker: 'stop',
      message: `when stop() of ${runId} resolved, job ${jobId} was ${status} without a call placed`,
    });
  }
  for (const run of runs) {
    if (stoppedAt.has(run.runId) && run.status !== 'stopped' && run.status !== 'completed')
      violations.push({
        checker: 'stop',
        message: `run ${run.runId} reads ${run.status} after stop() resolved`,
      });
  }
  return violations;
};
