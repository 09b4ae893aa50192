import { sleep } from '../clock.js';
import { ValidationError } from '../errors.js';
import type { QueueContext } from './queue-context.js';

/** Tries of a write before giving up, once the process no longer keeps it (waits of 200, 400, 800, 1,600 ms). */
const WRITE_ATTEMPTS = 5;
/** Longest wait between two tries of a write kept through a long outage. */
const MAX_WAIT_MS = 5_000;

/**
 * Runs a write that nothing would repeat if it failed (an in-process dialer's event, a call id,
 * putting a claim back), retrying through a backend outage. While `keep()` says so (the queue is
 * open) it is tried until written, however long the outage: the process holds the only copy of
 * what happened. After that, a few more tries, then the failure is thrown. Invalid input is not
 * retried.
 * @param ctx - the queue's logger and clock
 * @param jobId - the job written, for the log
 * @param write - the write; run again after each failure
 * @param keep - whether to keep trying past the bounded tries (default never)
 * @throws the last failure, or a {@link ValidationError} at once
 */
export async function throughOutage(
  ctx: Pick<QueueContext, 'logger' | 'clock'>,
  jobId: string,
  write: () => Promise<unknown>,
  keep: () => boolean = () => false,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (err) {
      if (err instanceof ValidationError || (attempt >= WRITE_ATTEMPTS && !keep())) throw err;
      ctx.logger.warn({ err, job_id: jobId, attempt }, 'OUTBOUND_BACKEND_UNAVAILABLE');
      await sleep(ctx.clock, Math.min(MAX_WAIT_MS, 100 * 2 ** Math.min(attempt, 16)));
    }
  }
}
