import { type Clock, systemClock } from '../../src/clock.js';
import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import type { CallEvent, CallStatus } from '../../src/types.js';

/** One call as the recording dialer saw it. */
export interface RecordedCall {
  jobId: string;
  businessId: string;
  runId: string;
  to: string;
  from?: string;
  attempt: number;
  lockToken: string;
  metadata: Record<string, unknown>;
  callId: string;
  startedAt: number;
  endedAt?: number;
}

/** Options of {@link RecordingDialer}. */
export interface RecordingDialerOptions {
  /** Call length in ms (default 20); `'manual'` leaves ending calls to the test through `end()`. */
  durationMs?: number | 'manual';
  /** End state of each call (default `completed`). */
  outcome?: (req: DialRequest) => CallStatus;
  /** Answering machine detection's verdict reported with each end (default none). */
  answeredBy?: (req: DialRequest) => string | undefined;
  /** Where call timers are set and times read (default the system clock). */
  clock?: Clock;
}

/**
 * A dialer that measures the guarantees from outside the library: every dial start and end with
 * its time, the most calls live at once per business, and dials per job attempt.
 */
export class RecordingDialer implements Dialer {
  readonly calls: RecordedCall[] = [];
  /** Set by a test that needs `stop({ hangup: true })`. */
  hangup?: (callId: string) => Promise<void>;
  private readonly live = new Map<string, number>();
  private readonly maxLive = new Map<string, number>();
  private readonly contexts = new Map<string, DialContext>();
  private next = 1;

  constructor(private readonly options: RecordingDialerOptions = {}) {}

  async dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
    const callId = `CA${String(this.next++).padStart(6, '0')}`;
    this.calls.push({ ...req, callId, startedAt: this.now() });
    const live = (this.live.get(req.businessId) ?? 0) + 1;
    this.live.set(req.businessId, live);
    this.maxLive.set(req.businessId, Math.max(live, this.maxLive.get(req.businessId) ?? 0));
    this.contexts.set(callId, ctx);
    const duration = this.options.durationMs ?? 20;
    if (duration !== 'manual') {
      // A test may have closed the queue and its database by the time the call ends.
      (this.options.clock ?? systemClock).setTimeout(
        () =>
          void this.end(callId, this.options.outcome?.(req) ?? 'completed', {
            answeredBy: this.options.answeredBy?.(req),
          }).catch(() => {}),
        duration,
      );
    }
    return { callId };
  }

  /** Ends a call: records the end, then reports the terminal event through the dial context. */
  async end(callId: string, status: CallStatus = 'completed', extra: Partial<CallEvent> = {}): Promise<void> {
    const call = this.hangUp(callId);
    if (!call) return;
    await this.contexts
      .get(callId)
      ?.report({ jobId: call.jobId, lockToken: call.lockToken, callId, status, ...extra });
  }

  /** Records the end of a call without reporting it (the test delivers the events itself). */
  hangUp(callId: string): RecordedCall | undefined {
    const call = this.calls.find((c) => c.callId === callId);
    if (!call || call.endedAt !== undefined) return undefined;
    call.endedAt = this.now();
    this.live.set(call.businessId, (this.live.get(call.businessId) ?? 1) - 1);
    return call;
  }

  private now(): number {
    return this.options.clock ? this.options.clock.now() : performance.now();
  }

  async fetchCall(callId: string): Promise<CallEvent | undefined> {
    const call = this.calls.find((c) => c.callId === callId);
    if (!call) return undefined;
    return { jobId: call.jobId, callId, status: call.endedAt === undefined ? 'in-progress' : 'completed' };
  }

  /** The most calls of `businessId` that were live at the same time. */
  maxConcurrent(businessId: string): number {
    return this.maxLive.get(businessId) ?? 0;
  }

  /** Number of `dial()` calls per job id. */
  dialsPerJob(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const c of this.calls) counts.set(c.jobId, (counts.get(c.jobId) ?? 0) + 1);
    return counts;
  }

  /** Calls not ended yet. */
  liveCalls(): RecordedCall[] {
    return this.calls.filter((c) => c.endedAt === undefined);
  }
}

/** A logger that keeps every line, for assertions on the OUTBOUND_* events. */
export class MemoryLogger {
  readonly lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  debug = (obj: Record<string, unknown>, msg: string) => void this.lines.push({ level: 'debug', msg, obj });
  info = (obj: Record<string, unknown>, msg: string) => void this.lines.push({ level: 'info', msg, obj });
  warn = (obj: Record<string, unknown>, msg: string) => void this.lines.push({ level: 'warn', msg, obj });
  error = (obj: Record<string, unknown>, msg: string) => void this.lines.push({ level: 'error', msg, obj });

  /** Lines with this message. */
  named(msg: string) {
    return this.lines.filter((l) => l.msg === msg);
  }
}
