import type { ClaimedJob } from '../store/job-store.js';
import type { QueueContext } from './queue-context.js';

/** The job a {@link SuppressCheck} is asked about: what will be dialed. */
export type SuppressionQuery = Omit<ClaimedJob, 'lockToken'>;

/**
 * The host's do-not-call check, consulted for each job after its claim and before its call: a
 * DNC list, an opt-out table. It answers `false` (or nothing) to dial, or the reason not to
 * (`true` means "suppressed" with no reason). It may be asynchronous; a check that throws, rejects
 * or does not answer within half of `leaseMs` is treated as an outage: the job waits and is asked
 * about again, never dialed unchecked.
 */
export type SuppressCheck = (
  job: SuppressionQuery,
) => boolean | string | undefined | null | Promise<boolean | string | undefined | null>;

/** What the check said of one job. */
export type SuppressionVerdict =
  | { kind: 'dial' }
  | { kind: 'suppressed'; reason: string }
  | { kind: 'unavailable'; error: unknown };

/**
 * Asks the host's check about a claimed job.
 * @param ctx - the queue's logger
 * @param check - the host's check, if any (none: every job is dialed)
 * @param job - the claim
 * @returns dial, suppressed with its reason, or unavailable (the check failed)
 */
export async function askSuppression(
  ctx: QueueContext,
  check: SuppressCheck | undefined,
  job: ClaimedJob,
): Promise<SuppressionVerdict> {
  if (!check) return { kind: 'dial' };
  const { lockToken: _token, ...query } = job;
  // A check that hangs must not hold the claim (and a stop waiting for it) for ever.
  const limitMs = Math.floor(ctx.leaseMs / 2);
  let timer: unknown;
  const late = new Promise<never>((_, reject) => {
    timer = ctx.clock.setTimeout(
      () => reject(new Error(`the suppression check did not answer within ${limitMs} ms`)),
      limitMs,
    );
  });
  try {
    const answer = await Promise.race([
      Promise.resolve(check({ ...query, metadata: { ...job.metadata } })),
      late,
    ]);
    if (answer === false || answer === undefined || answer === null || answer === '') return { kind: 'dial' };
    return { kind: 'suppressed', reason: typeof answer === 'string' ? answer : 'suppressed' };
  } catch (error) {
    ctx.logger.warn({ err: error, job_id: job.jobId, run_id: job.runId }, 'OUTBOUND_SUPPRESS_UNAVAILABLE');
    return { kind: 'unavailable', error };
  } finally {
    ctx.clock.clearTimeout(timer);
    late.catch(() => {});
  }
}
