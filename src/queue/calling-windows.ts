import { RunWindows } from '../policy/lead-windows.js';
import type { OpenSpan } from '../policy/window-schedule.js';
import type { DeferredJob, QueuedJobRef, RunRecord } from '../store/job-store.js';
import type { QueueContext } from './queue-context.js';

/** Whether a job may be dialed now under its run's window. */
export type WindowVerdict =
  | { kind: 'open' }
  | { kind: 'closed'; until: number }
  /** Its window does not open again within a year (its blocked dates, hours and rules leave no time). */
  | { kind: 'never' };

/** What a window check needs of a job: its run, number and zones (none: its run has no window). */
export interface WindowedJob {
  runId: string;
  to?: string;
  timeZone?: string;
}

function verdictOf(span: OpenSpan | undefined, now: number): WindowVerdict {
  if (span === undefined) return { kind: 'never' };
  return span.from <= now ? { kind: 'open' } : { kind: 'closed', until: span.from };
}

/**
 * The calling windows of the runs this process dials for, each read once: the feeder holds back
 * jobs outside their window before it asks for slots, and each call is checked again just before
 * it starts (a job may have waited in line past its window's end).
 */
export class CallingWindows {
  /** Run id -> its windows, or null when it has none. */
  private readonly runs = new Map<string, RunWindows | null>();

  /** @param ctx - the queue's store (to read a run this process does not feed) */
  constructor(private readonly ctx: QueueContext) {}

  /**
   * Keeps a run's window, as its feeder holds the run.
   * @returns the run's windows, or undefined when it has none
   */
  know(run: RunRecord): RunWindows | undefined {
    if (!this.runs.has(run.runId)) this.runs.set(run.runId, run.window ? new RunWindows(run.window) : null);
    return this.runs.get(run.runId) ?? undefined;
  }

  /** Forgets a run whose feeder stopped. */
  forget(runId: string): void {
    this.runs.delete(runId);
  }

  /**
   * Whether `job` may be dialed now (the clock read once its run's window is in hand). A job
   * without zones belongs to a run without a window.
   * @throws when its run had to be read and could not be, or holds no window for a job with zones
   */
  async verdict(job: WindowedJob): Promise<WindowVerdict> {
    if (job.timeZone === undefined || job.to === undefined) return { kind: 'open' };
    let windows = this.runs.get(job.runId);
    if (windows === undefined) {
      const run = await this.ctx.store.getRun(job.runId);
      windows = run ? (this.know(run) ?? null) : null;
    }
    // Zones were written only for a run with a window: never dial such a job unchecked.
    if (!windows) throw new Error(`no calling window found for run ${job.runId}`);
    const now = this.ctx.now();
    return verdictOf(windows.scheduleOf(job.to, job.timeZone).spanAt(now), now);
  }

  /**
   * Splits a page of queued jobs of a run with a window: those that may be dialed now, and those
   * to hold back until their window opens. A job whose window never opens again is offered: its
   * check before the call ends it.
   */
  sift(
    windows: RunWindows,
    jobs: readonly QueuedJobRef[],
    now: number,
  ): { open: QueuedJobRef[]; later: DeferredJob[] } {
    const open: QueuedJobRef[] = [];
    const later: DeferredJob[] = [];
    for (const job of jobs) {
      if (job.to === undefined || job.timeZone === undefined) {
        open.push(job);
        continue;
      }
      const verdict = verdictOf(windows.scheduleOf(job.to, job.timeZone).spanAt(now), now);
      if (verdict.kind === 'closed') later.push({ jobId: job.jobId, until: verdict.until });
      else open.push(job);
    }
    return { open, later };
  }

  /**
   * Writes the wait of the jobs of a page that are outside their window (see
   * {@link CallingWindows.sift}).
   * @returns the jobs that may be dialed now
   */
  async holdBack(
    runId: string,
    windows: RunWindows,
    rows: QueuedJobRef[],
    now: number,
  ): Promise<QueuedJobRef[]> {
    const { open, later } = this.sift(windows, rows, now);
    if (later.length > 0) {
      await this.ctx.store.deferJobs(later, now);
      const until = new Date(Math.min(...later.map((j) => j.until)));
      this.ctx.logger.info({ run_id: runId, jobs: later.length, until }, 'OUTBOUND_OUTSIDE_WINDOW');
    }
    return open;
  }
}
