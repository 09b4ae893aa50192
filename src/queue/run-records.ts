import { zonesOfLead } from '../policy/lead-windows.js';
import type { NewJob, RunRecord } from '../store/job-store.js';
import {
  JOB_STATUSES,
  type JobStatus,
  LIVE_JOB_STATUSES,
  type RunSummary,
  type StartRunInput,
} from '../types.js';
import { CallerIdPool } from './caller-id-pool.js';

/**
 * An instant given as a `Date` or epoch ms, in epoch ms.
 * @param at - the instant, or undefined
 */
export function instantMs(at: Date | number | undefined): number | undefined {
  return at instanceof Date ? at.getTime() : at;
}

/**
 * The jobs of a new run, one per lead, produced lazily so that a large run is never held twice in
 * memory. Job ids are a random prefix per run and the lead's position.
 * @param input - the validated `startRun` input
 * @param prefix - random, unique per run
 */
export function* jobsOfRun(input: StartRunInput, prefix: string): Generator<NewJob> {
  const { leads } = input;
  const startAt = instantMs(input.startAt);
  const pool = input.fromPool ? new CallerIdPool(input.fromPool) : undefined;
  for (let i = 0; i < leads.length; i++) {
    const lead = leads[i]!;
    const own = instantMs(lead.notBefore);
    const notBefore = own === undefined ? startAt : startAt === undefined ? own : Math.max(own, startAt);
    yield {
      jobId: `${prefix}${i.toString(36)}`,
      seq: i + 1,
      leadId: lead.leadId,
      to: lead.to,
      from: lead.from ?? pool?.pick(lead.to) ?? input.from,
      metadata: lead.metadata ?? {},
      notBefore,
      timeZone: input.window ? zonesOfLead(lead, input.window) : undefined,
    };
  }
}

/**
 * The public summary of a run from its record and its jobs counted per status.
 * @param run - the run as stored
 * @param found - job counts per status (missing statuses count 0)
 */
export function runSummary(run: RunRecord, found: Partial<Record<JobStatus, number>>): RunSummary {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, found[s] ?? 0])) as Record<JobStatus, number>;
  return {
    runId: run.runId,
    businessId: run.businessId,
    status: run.status,
    concurrency: run.concurrency,
    priority: run.priority,
    total: run.total,
    counts,
    active: LIVE_JOB_STATUSES.reduce((n, s) => n + counts[s], 0),
    createdAt: new Date(run.createdAt),
    finishedAt: run.finishedAt === undefined ? undefined : new Date(run.finishedAt),
  };
}
