import type { CallEvent } from '../types.js';
import type { QueueContext } from './queue-context.js';

/**
 * Logs a call event that changed nothing: at debug level when it was a duplicate, late or forged
 * (the normal case for webhooks); as a warning, once per event, when it carried the job's current
 * lock token but named another call than the one the job holds (a conflict worth a look).
 * @param ctx - the queue's store and logger
 * @param event - the event that was not applied
 */
export async function explainIgnoredEvent(
  ctx: Pick<QueueContext, 'store' | 'logger'>,
  event: CallEvent,
): Promise<void> {
  const fields = { job_id: event.jobId, status: event.status, call_id: event.callId };
  if (event.lockToken !== undefined && event.callId !== undefined) {
    const job = await ctx.store.getJobRoute(event.jobId);
    if (job?.lockToken === event.lockToken && job.callId !== undefined && job.callId !== event.callId) {
      ctx.logger.warn({ ...fields, job_call_id: job.callId }, 'OUTBOUND_EVENT_CALL_MISMATCH');
      return;
    }
  }
  ctx.logger.debug(fields, 'OUTBOUND_EVENT_IGNORED');
}
