import type { CallStatus, JobStatus } from '../types.js';

const JOB_STATUS_OF_CALL: Record<CallStatus, JobStatus> = {
  initiated: 'dialing',
  ringing: 'ringing',
  'in-progress': 'in_progress',
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};

/**
 * The job status a call status moves a job to.
 * @param status - the call status as the provider spells it
 * @returns the job status, or undefined for a value that is not a call status
 */
export function jobStatusOfCall(status: string): JobStatus | undefined {
  return Object.hasOwn(JOB_STATUS_OF_CALL, status) ? JOB_STATUS_OF_CALL[status as CallStatus] : undefined;
}
