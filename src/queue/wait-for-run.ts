import { TimeoutError } from '../errors.js';
import { type RunSummary, TERMINAL_JOB_STATUSES, type WaitForRunOptions } from '../types.js';
import type { QueueContext } from './queue-context.js';
import type { RunSupervisor } from './run-supervisor.js';

/**
 * Resolves when nothing is left to do for the run: every job is terminal (see
 * `OutboundQueue.waitForRun`). A run whose jobs all ended but that nobody marked yet (its owner
 * may be gone) is marked here.
 * @param runs - this process's runs: their changes wake the wait, and a finished run is completed
 * @param getRun - reads the run's summary
 * @throws {@link TimeoutError} after `options.timeoutMs`
 */
export async function waitForRun(
  ctx: QueueContext,
  runs: RunSupervisor,
  getRun: (runId: string) => Promise<RunSummary>,
  runId: string,
  options: WaitForRunOptions,
): Promise<RunSummary> {
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : ctx.now() + options.timeoutMs;
  for (;;) {
    const summary = await getRun(runId);
    const unfinished = summary.total - TERMINAL_JOB_STATUSES.reduce((n, s) => n + summary.counts[s], 0);
    if (unfinished === 0) {
      if (summary.status !== 'running') return summary;
      await runs.complete(runId, summary.businessId);
      continue;
    }
    const left = deadline - ctx.now();
    if (left <= 0) throw new TimeoutError(`run ${runId} not finished after ${options.timeoutMs} ms`);
    // Woken by this process's events at once; the short fallback covers other processes.
    await runs.nextChange(runId, Math.min(left, 500));
  }
}
