import type { JobStatus } from '../types.js';

const RANK: Record<JobStatus, number> = {
  queued: 0,
  dialing: 1,
  ringing: 2,
  in_progress: 3,
  completed: 4,
  busy: 4,
  no_answer: 4,
  failed: 4,
  canceled: 4,
};

/** The statuses a claimed job can move on from, with their order: a job moves to a higher rank only. */
export const LIVE_STATUS_RANKS: Readonly<Record<'dialing' | 'ringing' | 'in_progress', number>> = {
  dialing: RANK.dialing,
  ringing: RANK.ringing,
  in_progress: RANK.in_progress,
};

/** Where `status` stands in a job's life: queued 0, then dialing, ringing, in progress, terminal 4. */
export function statusRank(status: JobStatus): number {
  return RANK[status];
}

/** Whether `status` is terminal (the job never changes again). */
export function isTerminal(status: JobStatus): boolean {
  return RANK[status] === 4;
}

/**
 * The statuses a claimed job may move to `target` from: job status only moves forward, and a
 * terminal status is written once. Queued jobs are moved only by claims and cancels, never by events.
 * @returns the statuses ranked below `target`, from `dialing` on
 */
export function statusesBefore(target: JobStatus): JobStatus[] {
  const rank = RANK[target];
  return (['dialing', 'ringing', 'in_progress'] as const).filter((s) => RANK[s] < rank);
}
