import { type Clock, systemClock } from '../clock.js';
import { DialError } from '../errors.js';
import type { CallEvent, CallStatus } from '../types.js';
import type { DialContext, Dialer, DialRequest, DialResult, FindCallResult } from './dialer.js';

/** Options of {@link SimulatedDialer}. */
export interface SimulatedDialerOptions {
  /** Call length in ms, fixed or a `[min, max]` range drawn uniformly (default `[200, 800]`). */
  durationMs?: number | readonly [number, number];
  /** The call's end state (default `completed`). */
  outcome?: (req: DialRequest) => CallEvent['status'];
  /** Makes `dial()` fail permanently for the leads it returns true for. */
  failDial?: (req: DialRequest) => boolean;
  /**
   * Makes `dial()` fail with an unknown outcome (`DialError` kind `unknown`, code
   * `SIMULATED_UNKNOWN`) for the leads it returns a value for, as a provider whose answer was lost:
   * `'placed'` places the call all the same (reported as usual, and found by `findCall`),
   * `'not-placed'` places nothing.
   */
  unknownOutcome?: (req: DialRequest) => 'placed' | 'not-placed' | undefined;
  /** Report only the end state, not `initiated`, `ringing` and `in-progress` (fewer writes; for benchmarks). */
  terminalOnly?: boolean;
  /** Where the calls' timers are set (default the system clock): give the queue's `clock` to simulate. */
  clock?: Clock;
}

/**
 * A dialer for demos and tests: no phone network, just timers. It reports `initiated`, `ringing`,
 * `in-progress` and the end state through `ctx.report`, as a provider's webhooks would.
 *
 * @example
 * ```ts
 * const dialer = new SimulatedDialer({ durationMs: [500, 1500], outcome: (req) => (req.to.endsWith('7') ? 'busy' : 'completed') });
 * ```
 */
export class SimulatedDialer implements Dialer {
  private readonly options: SimulatedDialerOptions;
  private readonly clock: Clock;
  private readonly calls = new Map<string, SimulatedCall>();
  /** Call ids by job id and lock token, for `findCall`. */
  private readonly byAttempt = new Map<string, string>();
  private nextCall = 1;

  /**
   * @param options - call length, outcome and failures
   */
  constructor(options: SimulatedDialerOptions = {}) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  /** Calls in progress now. */
  get liveCalls(): number {
    let n = 0;
    for (const call of this.calls.values()) if (call.timer !== undefined || call.hangup !== undefined) n++;
    return n;
  }

  async dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
    if (this.options.failDial?.(req)) {
      throw new DialError('permanent', `simulated dial failure for ${req.to}`, {
        providerCode: 'SIMULATED_FAILURE',
      });
    }
    const unknown = this.options.unknownOutcome?.(req);
    if (unknown === 'not-placed') throw unknownOutcome(req);
    const callId = `SIM${String(this.nextCall++).padStart(8, '0')}`;
    const call: SimulatedCall = { status: 'initiated' };
    this.calls.set(callId, call);
    this.byAttempt.set(attemptKey(req.jobId, req.lockToken), callId);
    const base = { jobId: req.jobId, lockToken: req.lockToken, callId };
    const report = (status: CallStatus, extra: Partial<CallEvent> = {}) => {
      call.status = status;
      return ctx.report({ ...base, status, ...extra }).catch(() => {});
    };
    const duration = this.duration();
    const end = (status: CallStatus) => {
      call.timer = undefined;
      call.hangup = undefined;
      void report(status, { durationSec: Math.round(duration / 1000) });
    };
    // Progress is reported after dial() returns, as a provider's webhooks would arrive.
    setImmediate(() => {
      if (!this.options.terminalOnly) {
        void report('initiated');
        void report('ringing');
        void report('in-progress');
      }
      const outcome = this.options.outcome?.(req) ?? 'completed';
      call.hangup = () => {
        this.clock.clearTimeout(call.timer);
        end('completed');
      };
      call.timer = this.clock.setTimeout(() => end(outcome), duration);
    });
    if (unknown === 'placed') throw unknownOutcome(req);
    return { callId };
  }

  async hangup(callId: string): Promise<void> {
    this.calls.get(callId)?.hangup?.();
  }

  async fetchCall(callId: string): Promise<CallEvent | undefined> {
    const call = this.calls.get(callId);
    return call ? { jobId: '', callId, status: call.status } : undefined;
  }

  /**
   * Finds the call a `dial()` placed for this job and lock token, from the dialer's own record:
   * the token names the attempt exactly, so the answer is never ambiguous and needs no time window.
   * @param req - the request of the dial whose outcome is unknown
   * @param _since - when that dial started (not needed here)
   * @returns `found` with the call's state, or `none`
   */
  async findCall(req: DialRequest, _since: number): Promise<FindCallResult> {
    const callId = this.byAttempt.get(attemptKey(req.jobId, req.lockToken));
    const call = callId === undefined ? undefined : this.calls.get(callId);
    if (callId === undefined || call === undefined) return { match: 'none' };
    return {
      match: 'found',
      call: { jobId: req.jobId, lockToken: req.lockToken, callId, status: call.status },
    };
  }

  private duration(): number {
    const d = this.options.durationMs ?? [200, 800];
    if (typeof d === 'number') return d;
    return d[0] + Math.random() * (d[1] - d[0]);
  }
}

/** One simulated call. */
interface SimulatedCall {
  status: CallStatus;
  timer?: unknown;
  hangup?: () => void;
}

function attemptKey(jobId: string, lockToken: string): string {
  return `${jobId}\u0000${lockToken}`;
}

function unknownOutcome(req: DialRequest): DialError {
  return new DialError('unknown', `simulated lost answer for ${req.to}: the call may exist`, {
    providerCode: 'SIMULATED_UNKNOWN',
  });
}
