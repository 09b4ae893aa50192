import type { ClaimedJob } from '../store/job-store.js';
import { emit, type QueueContext } from './queue-context.js';
import { throughOutage } from './through-outage.js';

/**
 * Writes the call id of a placed call, through an outage while the queue is open. When the
 * claim's token no longer matches (the reconciler ended the job, or a stop took it over, while
 * `dial()` ran), the call lives outside the limit: a real conflict, reported once, and the call
 * is hung up.
 * @param isOpen - whether the queue is open (an outage is waited through meanwhile)
 * @returns whether the call id was written under the claim's token
 */
export async function recordCall(
  ctx: QueueContext,
  job: ClaimedJob,
  callId: string,
  isOpen: () => boolean,
): Promise<boolean> {
  let recorded = false;
  await throughOutage(
    ctx,
    job.jobId,
    async () => {
      recorded = await ctx.store.recordDialed(job.jobId, job.lockToken, callId, ctx.now());
    },
    isOpen,
  );
  if (recorded) return true;
  const error = new Error(`Lock token mismatch for job ${job.jobId}: call ${callId} may be a duplicate`);
  ctx.logger.error(
    { business_id: job.businessId, job_id: job.jobId, run_id: job.runId, call_id: callId },
    'OUTBOUND_LOCK_CONFLICT',
  );
  emit(ctx, 'error', error);
  await ctx.dialer.hangup?.(callId).catch((err: unknown) => {
    ctx.logger.warn({ err, job_id: job.jobId, call_id: callId }, 'OUTBOUND_HANGUP_FAILED');
  });
  return false;
}
