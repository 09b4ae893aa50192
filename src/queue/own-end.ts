import type { ReleaseResult } from '../limiter/slot-limiter.js';
import type { ClaimedJob, JobRoute } from '../store/job-store.js';
import { isTerminal } from '../store/job-transitions.js';
import type { CallEvent } from '../types.js';
import type { Attempt, Attempts } from './attempts.js';
import type { CallEvents } from './call-events.js';
import { jobStatusOfCall } from './call-status.js';
import { emit, type QueueContext } from './queue-context.js';
import { jobEndedEvent } from './queue-events.js';
import type { SlotHandOff } from './slot-hand-off.js';
import { throughOutage } from './through-outage.js';

/** What {@link OwnEnds} tells the dispatcher. */
export interface OwnEndHooks {
  /** Applies an event the usual way: written, then its slot freed and handed on. */
  apply(event: CallEvent, claim?: ClaimedJob): Promise<unknown>;
  /** A job this process ended; its slot was passed on already. */
  jobEnded(job: JobRoute, release: ReleaseResult): void;
  /** Whether a write is kept until written (the queue is open). */
  keepWriting(): boolean;
}

/**
 * The end of a call reported by this process's own dialer, on the attempt that placed it. The
 * slot is passed straight to the next job in line while the end is written, and that job's claim
 * goes in the same write as the end, after it: the hand-off costs one limiter round trip and one
 * write, and no read sees both calls live. When nobody waits, or the limiter cannot pass, the end
 * is written first and its slot freed after, as for any event.
 */
export class OwnEnds {
  /**
   * @param ctx - the queue's limiter, store and events
   * @param attempts - this process's attempts
   * @param events - writes the end
   * @param slots - passes the slot on
   * @param hooks - the usual path, and what to tell of an end
   */
  constructor(
    private readonly ctx: QueueContext,
    private readonly attempts: Attempts,
    private readonly events: CallEvents,
    private readonly slots: SlotHandOff,
    private readonly hooks: OwnEndHooks,
  ) {}

  /**
   * Applies an event the dialer of `job`'s call reported.
   * @param attempt - the attempt that placed the call
   * @param job - its claim
   */
  async report(attempt: Attempt, job: ClaimedJob, event: CallEvent): Promise<void> {
    const { ctx } = this;
    if (!this.endsOwnCall(attempt, job, event)) {
      await throughOutage(ctx, event?.jobId, () => this.hooks.apply(event), this.hooks.keepWriting);
      return;
    }
    const passed = await this.slots.pass(attempt.key, job.jobId, attempt);
    if (!passed) {
      // Nothing passed: the end is written, its slot freed and handed on after.
      await throughOutage(ctx, job.jobId, () => this.hooks.apply(event, job), this.hooks.keepWriting);
      return;
    }
    let settle: (written: boolean) => void = () => {};
    const written = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    let ended: JobRoute | undefined;
    // The end goes to the store first, then the claims of the jobs the slot was passed to, in the
    // same turn: they join its write, after it.
    const ending = throughOutage(
      ctx,
      job.jobId,
      async () => {
        const moved = await this.events.write(event, job);
        ended = moved === false ? undefined : moved;
      },
      this.hooks.keepWriting,
    );
    const end = { jobId: job.jobId, lockToken: job.lockToken, written };
    const tell = this.slots.handOnPassed(attempt.key, job.jobId, passed, end);
    try {
      await ending;
    } catch (err) {
      // Given up (closing through an outage): the jobs it was passed to are not claimed, and
      // their slot, linked to this job, runs out for the reconciler to resolve this end first.
      settle(false);
      throw err;
    }
    // In the order ended -> slot:released -> the next job:dialing: those jobs are dialed once
    // their claims are written and the end is told.
    try {
      if (ended) emit(ctx, 'job:ended', jobEndedEvent(ended));
      tell();
      if (ended) this.hooks.jobEnded(ended, passed.result);
    } finally {
      settle(true);
    }
  }

  /** The end of the call this attempt placed, whose slot it still holds: its slot can be passed. */
  private endsOwnCall(attempt: Attempt, job: ClaimedJob, event: CallEvent): boolean {
    const status = jobStatusOfCall(event?.status);
    return (
      status !== undefined &&
      isTerminal(status) &&
      event.jobId === job.jobId &&
      event.lockToken === job.lockToken &&
      this.attempts.get(job.jobId) === attempt &&
      attempt.phase === 'placed' &&
      attempt.held
    );
  }
}
