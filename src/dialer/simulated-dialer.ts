import { type Clock, systemClock } from '../clock.js';
import { DialError } from '../errors.js';
import type { CallEvent, CallStatus } from '../types.js';
import type { DialContext, Dialer, DialRequest, DialResult } from './dialer.js';

/** Options of {@link SimulatedDialer}. */
export interface SimulatedDialerOptions {
  /** Call length in ms, fixed or a `[min, max]` range drawn uniformly (default `[200, 800]`). */
  durationMs?: number | readonly [number, number];
  /** The call's end state (default `completed`). */
  outcome?: (req: DialRequest) => CallEvent['status'];
  /** Makes `dial()` fail permanently for the leads it returns true for. */
  failDial?: (req: DialRequest) => boolean;
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
  private readonly calls = new Map<string, { status: CallStatus; timer?: unknown; hangup?: () => void }>();
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
    const callId = `SIM${String(this.nextCall++).padStart(8, '0')}`;
    const call: { status: CallStatus; timer?: unknown; hangup?: () => void } = { status: 'initiated' };
    this.calls.set(callId, call);
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
    return { callId };
  }

  async hangup(callId: string): Promise<void> {
    this.calls.get(callId)?.hangup?.();
  }

  async fetchCall(callId: string): Promise<CallEvent | undefined> {
    const call = this.calls.get(callId);
    return call ? { jobId: '', callId, status: call.status } : undefined;
  }

  private duration(): number {
    const d = this.options.durationMs ?? [200, 800];
    if (typeof d === 'number') return d;
    return d[0] + Math.random() * (d[1] - d[0]);
  }
}
