import type { ClaimedJob } from '../store/job-store.js';
import { type Job, LIVE_JOB_STATUSES } from '../types.js';
import type { PendingEnd } from './attempts.js';
import type { QueueContext } from './queue-context.js';
import { throughOutage } from './through-outage.js';

/**
 * The claim that `lockToken` holds on `job`, as the claim's write returns it.
 * @param job - the job as read from the store
 * @param lockToken - the token written with the claim
 */
export function claimOf(job: Job, lockToken: string): ClaimedJob {
  const { jobId, runId, businessId, to, from, attempt, metadata, timeZone } = job;
  return { jobId, runId, businessId, to, from, attempt, lockToken, metadata, timeZone };
}

/**
 * Claims a job for a grant, through a database outage: a claim whose answer was lost may have
 * been written, so each try uses the same fresh token and a refused try asks the job whether
 * that token holds it. The grant stays held (renewed) meanwhile.
 *
 * A grant that took the slot of a call whose end is still being written (`after`) is claimed in
 * the same write as that end, after it, where the store can; otherwise (and for every retry) once
 * the end is written. An end given up leaves the job unclaimed: its slot then runs out, and the
 * reconciler resolves the end first.
 * @param ctx - the queue's store, clock and id generator
 * @param fence - the grant's fencing token, checked by the claim
 * @param keepTrying - whether to go on through an outage (the queue is open)
 * @param after - the end the claim must follow
 * @returns the claimed job, or undefined when the claim lost
 */
export async function claimJob(
  ctx: QueueContext,
  jobId: string,
  fence: number | undefined,
  keepTrying: () => boolean,
  after?: PendingEnd,
): Promise<ClaimedJob | undefined> {
  const lockToken = ctx.newId();
  let claimed: ClaimedJob | undefined;
  let tries = 0;
  // A capped claim counts the number's contacts in a transaction of its own: written apart.
  if (after && ctx.store.claimJobAfter && !ctx.contactCap) {
    tries = 1;
    try {
      const together = await ctx.store.claimJobAfter(after, jobId, lockToken, ctx.now(), fence);
      // Refused: unless a statement whose answer was lost claimed it already (written apart after).
      if (together !== 'apart') return together ?? (await claimedUnder(ctx, jobId, lockToken));
      tries = 0;
    } catch (err) {
      // The end failed with it, or the answer was lost: try again below, after the end.
      ctx.logger.warn({ err, job_id: jobId, attempt: 1 }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    }
  }
  if (after && !(await after.written)) return undefined;
  await throughOutage(
    ctx,
    jobId,
    async () => {
      tries += 1;
      claimed = await ctx.store.claimJob(jobId, lockToken, ctx.now(), fence, ctx.contactCap);
      if (claimed || tries === 1) return;
      claimed = await claimedUnder(ctx, jobId, lockToken);
    },
    keepTrying,
  );
  return claimed;
}

/** The claim `lockToken` holds on a job being dialed, read back (a claim whose answer was lost). */
async function claimedUnder(
  ctx: QueueContext,
  jobId: string,
  lockToken: string,
): Promise<ClaimedJob | undefined> {
  const job = await ctx.store.getJob(jobId);
  if (job?.status !== 'dialing' || (await ctx.store.getJobRoute(jobId))?.lockToken !== lockToken)
    return undefined;
  return claimOf(job, lockToken);
}

/**
 * Whether the run reads `stopped`, read through an outage while `keepTrying` says so.
 * @param ctx - the queue's store
 */
export async function runStopped(
  ctx: QueueContext,
  runId: string,
  keepTrying: () => boolean,
): Promise<boolean> {
  let stopped = false;
  await throughOutage(
    ctx,
    runId,
    async () => {
      stopped = (await ctx.store.getRun(runId))?.status === 'stopped';
    },
    keepTrying,
  );
  return stopped;
}

/**
 * Whether a claim other than this process's holds the job: it reads dialing or later, not terminal.
 * @param ctx - the queue's store
 */
export async function claimedElsewhere(ctx: QueueContext, jobId: string): Promise<boolean> {
  const job = await ctx.store.getJobRoute(jobId);
  return job !== undefined && LIVE_JOB_STATUSES.includes(job.status);
}

/**
 * Renews the slot of `jobId` before its call.
 * @param ctx - the queue's limiter, lease and logger
 * @returns whether it still holds one (false too when the limiter is unreachable)
 */
export async function confirmSlot(ctx: QueueContext, key: string, jobId: string): Promise<boolean> {
  try {
    return (await ctx.limiter.renew(key, [jobId], ctx.leaseMs)).length === 0;
  } catch (err) {
    ctx.logger.warn({ err, business_id: key, job_id: jobId }, 'OUTBOUND_BACKEND_UNAVAILABLE');
    return false;
  }
}
