import type { Checker, Violation } from '../outcome.js';

/** The job status a provider's terminal call status is recorded as. */
const AS_JOB: Record<string, string> = {
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};

/**
 * Guarantee 6 (webhooks) seen from the end: a job whose last call ended at the provider records
 * that call's terminal status, whatever became of the events (duplicated, reordered, lost and
 * fetched again), never a status the engine made up (`CALL_LOST`, `DIAL_OUTCOME_UNKNOWN`).
 */
export const checkOutcome: Checker = ({ trace, jobs }) => {
  const violations: Violation[] = [];
  const lastEnd = new Map<string, { callId?: string; status?: string }>();
  for (const e of trace) if (e.ev === 'call:end' && e.jobId) lastEnd.set(e.jobId, e);
  for (const job of jobs) {
    const end = lastEnd.get(job.jobId);
    if (!end || job.callId !== end.callId) continue;
    const want = AS_JOB[end.status ?? ''];
    if (job.status !== want)
      violations.push({
        checker: 'outcome',
        message: `job ${job.jobId}: call ${end.callId} ended ${end.status} at the provider, the job reads ${job.status}${job.errorCode ? ` (${job.errorCode})` : ''}`,
      });
  }
  return violations;
};
