import { IdempotencyConflictError } from '../errors.js';
import type { CreateRunResult, RunRecord } from '../store/job-store.js';
import type { StartRunInput } from '../types.js';
import type { QueueContext } from './queue-context.js';
import { runInputDigest } from './run-input-digest.js';
import { jobsOfRun } from './run-records.js';
import { validateRunInput } from './validate-run-input.js';

/**
 * Whether a stored run was started with this input. Runs written before digests were kept are
 * compared by what their record holds.
 */
function sameInput(run: RunRecord, input: StartRunInput, digest: string): boolean {
  if (run.inputDigest !== undefined) return run.inputDigest === digest;
  return (
    run.businessId === input.businessId &&
    run.concurrency === input.concurrency &&
    run.total === input.leads.length &&
    run.from === input.from
  );
}

/**
 * Validates a `startRun` input as a whole, then writes the run and one job per lead in one
 * transaction; or, when `runId` names a run started with the same input, writes nothing.
 * @param ctx - the queue's store, clock and id generator
 * @param input - the input as the host passed it
 * @param feedsHere - whether this process dispatches: it then owns the new run from the start
 * @param paused - whether a business is paused (`pauseBusiness`): its new run is written paused
 * @returns the run as stored and whether this call created it
 * @throws {@link ValidationError} naming each bad row; nothing is written then
 * @throws {@link IdempotencyConflictError} when `runId` names a run started with another input
 */
export async function startRunFromInput(
  ctx: QueueContext,
  input: StartRunInput,
  feedsHere: boolean,
  paused: (businessId: string) => Promise<boolean> = async () => false,
): Promise<CreateRunResult> {
  const now = ctx.now();
  validateRunInput(input, now);
  const runId = input.runId ?? ctx.newId();
  const inputDigest = runInputDigest(input);
  const prefix = ctx.newId().replace(/-/g, '').slice(0, 16);
  const result = await ctx.store.createRun(
    {
      runId,
      businessId: input.businessId,
      concurrency: input.concurrency,
      priority: input.priority,
      status: (await paused(input.businessId)) ? 'paused' : undefined,
      total: input.leads.length,
      from: input.from,
      ownerId: feedsHere ? ctx.processId : undefined,
      ownerExpiresAt: feedsHere ? now + ctx.leaseMs : undefined,
      createdAt: now,
      inputDigest,
      retry: input.retry,
      window: input.window,
    },
    jobsOfRun(input, prefix),
  );
  if (!result.created && !sameInput(result.run, input, inputDigest))
    throw new IdempotencyConflictError(runId);
  ctx.logger.info(
    { run_id: runId, business_id: result.run.businessId, total: result.run.total, created: result.created },
    'OUTBOUND_RUN_STARTED',
  );
  return result;
}
