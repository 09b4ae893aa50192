import { sleep } from '../clock.js';
import { ValidationError } from '../errors.js';
import type { QueueContext } from './queue-context.js';

/** Tries of a write before giving up (waits of 200, 400, 800, 1,600 ms between them). */
const WRITE_ATTEMPTS = 5;

/**
 * Runs a write that nothing would repeat if it failed (an in-process dialer's event, putting a
 * claim back), retrying through a short backend outage. Invalid input is not retried.
 * @param ctx - the queue's logger
 * @param jobId - the job written, for the log
 * @param write - the write; run again after each failure but the last
 * @throws the last failure, or a {@link ValidationError} at once
 */
export async function throughOutage(
  ctx: Pick<QueueContext, 'logger' | 'clock'>,
  jobId: string,
  write: () => Promise<unknown>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (err) {
      if (err instanceof ValidationError || attempt >= WRITE_ATTEMPTS) throw err;
      ctx.logger.warn({ err, job_id: jobId, attempt }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      await sleep(ctx.clock, 100 * 2 ** attempt);
    }
  }
}
