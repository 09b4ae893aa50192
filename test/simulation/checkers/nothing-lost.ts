import type { Checker, Violation } from '../outcome.js';

const TERMINAL = new Set(['completed', 'busy', 'no_answer', 'failed', 'canceled']);

/**
 * Guarantee 7 (nothing lost): every lead of a started run is exactly one job of that run, terminal
 * at the end; a run never started has no job.
 */
export const checkNothingLost: Checker = ({ workload, jobs, started }) => {
  const violations: Violation[] = [];
  const byRunLead = new Map<string, number>();
  for (const job of jobs) {
    const key = `${job.runId}/${job.leadId}`;
    byRunLead.set(key, (byRunLead.get(key) ?? 0) + 1);
    if (!TERMINAL.has(job.status) && started.has(job.runId))
      violations.push({
        checker: 'nothing-lost',
        message: `job ${job.jobId} of ${job.runId} ends ${job.status}`,
      });
  }
  for (const run of workload.runs) {
    for (const lead of run.leads) {
      const n = byRunLead.get(`${run.runId}/${lead.leadId}`) ?? 0;
      if (started.has(run.runId) ? n !== 1 : n !== 0)
        violations.push({
          checker: 'nothing-lost',
          message: `lead ${lead.leadId} of ${run.runId} (${started.has(run.runId) ? 'started' : 'never started'}) is ${n} jobs`,
        });
    }
  }
  return violations;
};
