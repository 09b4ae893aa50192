import { type FakeCallRecord, type FakeCallStatus, TERMINAL_CALL_STATUSES } from './twilio-resources.js';

/** How a fake call ends when nobody hangs up. */
export type FakeCallOutcome = 'completed' | 'busy' | 'no-answer' | 'failed';

/** The timing and shape of one simulated call. */
export interface CallScript {
  outcome: FakeCallOutcome;
  /** Pause before each progress step (`ringing`, `in-progress`) and before a busy/no-answer end. */
  stepMs: number;
  /** How long the call stays `in-progress` before it completes. */
  durationMs: number;
  /** AMD verdict sent with `in-progress` and `completed` when the call asked for machine detection. */
  answeredBy?: string;
  /** `ErrorCode` sent with a `failed` end. */
  errorCode?: string;
  /** How long the call stays `queued` (Twilio's CPS queue) before it starts (default 0). */
  queuedMs?: number;
}

/** How status callbacks are delivered. */
export interface CallbackDelivery {
  /** Each callback is sent this many times, concurrently (Twilio retries do duplicate). */
  copies: number;
  /** Progress callbacks arrive newest first, and a stale `ringing` arrives after the end. */
  reorder: boolean;
}

/** What a simulation needs from the fake server. */
export interface CallSimulationHost {
  /** Sends one status callback for `call` in its current status. */
  post(
    call: FakeCallRecord,
    status: FakeCallStatus,
    sequence: number,
    extra: Record<string, string>,
  ): Promise<void>;
  /** The call just reached a terminal status (called before its callback is sent). */
  ended(call: FakeCallRecord): void;
}

interface Step {
  status: FakeCallStatus;
  delayMs: number;
}

/** Drives one fake call through its statuses, POSTing signed status callbacks as Twilio would. */
export class CallSimulation {
  private readonly steps: Step[];
  private readonly events: ReadonlySet<string>;
  private readonly abort = new AbortController();
  private held: { status: FakeCallStatus; sequence: number; extra: Record<string, string> }[] = [];
  private sequence = 0;
  private readonly sends = new Set<Promise<void>>();
  private next = 0;
  private readonly lastProgress: FakeCallStatus | undefined;
  private hangingUp: Promise<void> | undefined;

  /**
   * @param call - the call's record (updated in place)
   * @param script - outcome and timing
   * @param delivery - duplicates and reordering
   * @param host - the fake server
   */
  constructor(
    readonly call: FakeCallRecord,
    private readonly script: CallScript,
    private readonly delivery: CallbackDelivery,
    private readonly host: CallSimulationHost,
  ) {
    const { outcome, stepMs, durationMs } = script;
    const queued = script.queuedMs ?? 0;
    this.steps =
      outcome === 'completed'
        ? [
            { status: 'initiated', delayMs: queued },
            { status: 'ringing', delayMs: stepMs },
            { status: 'in-progress', delayMs: stepMs },
            { status: 'completed', delayMs: durationMs },
          ]
        : outcome === 'failed'
          ? [
              { status: 'initiated', delayMs: queued },
              { status: 'failed', delayMs: stepMs },
            ]
          : [
              { status: 'initiated', delayMs: queued },
              { status: 'ringing', delayMs: stepMs },
              { status: outcome, delayMs: stepMs },
            ];
    this.lastProgress = this.steps.filter((s) => !TERMINAL_CALL_STATUSES.has(s.status)).pop()?.status;
    // Twilio sends the final callback always, the others only when asked for.
    this.events = new Set(call.params.getAll('StatusCallbackEvent').flatMap((e) => e.split(/[\s,]+/)));
  }

  /** Whether the call is over. */
  get ended(): boolean {
    return TERMINAL_CALL_STATUSES.has(this.call.status);
  }

  /**
   * Runs the first `n` steps now, without their pauses, and waits for their callbacks: the fake
   * does this before answering the create request, as providers sometimes do.
   */
  async runFirst(n: number): Promise<void> {
    while (this.next < Math.min(n, this.steps.length) && !this.ended) {
      await this.enter(this.steps[this.next++]!.status);
    }
    await this.settled();
  }

  /** Runs the remaining steps with their pauses; resolves when the call is over and every callback answered. */
  async run(): Promise<void> {
    try {
      while (this.next < this.steps.length && !this.ended) {
        const step = this.steps[this.next++]!;
        if (step.delayMs > 0) await sleep(step.delayMs, this.abort.signal);
        if (this.ended) break;
        await this.enter(step.status);
      }
    } catch (err) {
      if (!this.abort.signal.aborted) throw err;
    }
    await this.settled();
  }

  /**
   * Ends the call now, as `POST /Calls/{sid}.json Status=completed` does: a call in progress
   * completes, one not yet answered is canceled.
   * @returns false when the call was already over
   */
  hangup(): boolean {
    if (this.ended) return false;
    this.abort.abort();
    this.hangingUp = this.enter(this.call.status === 'in-progress' ? 'completed' : 'canceled');
    return true;
  }

  /** Stops the call's timers without sending anything more (server shutdown). */
  stop(): void {
    this.abort.abort();
  }

  /** Resolves when every callback sent so far has been answered. */
  async settled(): Promise<void> {
    await this.hangingUp;
    while (this.sends.size > 0) await Promise.all([...this.sends]);
  }

  private async enter(status: FakeCallStatus): Promise<void> {
    const { call, script } = this;
    const now = new Date();
    call.status = status;
    call.updatedAt = now;
    // Twilio's start_time: set once the call leaves its queue; a call canceled while queued has none.
    if (status !== 'queued' && !TERMINAL_CALL_STATUSES.has(status)) call.dialedAt ??= now;
    if (status === 'in-progress') call.startedAt = now;
    const amd = call.params.has('MachineDetection') ? script.answeredBy : undefined;
    if (amd && (status === 'in-progress' || status === 'completed')) call.answeredBy = amd;
    const terminal = TERMINAL_CALL_STATUSES.has(status);
    if (terminal) {
      call.endedAt = now;
      this.host.ended(call);
    }
    const extra: Record<string, string> = {};
    if (call.answeredBy) extra.AnsweredBy = call.answeredBy;
    if (terminal) {
      const duration = call.startedAt ? Math.round((now.getTime() - call.startedAt.getTime()) / 1000) : 0;
      extra.CallDuration = String(duration);
      extra.Duration = String(Math.ceil(duration / 60));
      extra.SipResponseCode = status === 'completed' ? '200' : status === 'busy' ? '486' : '487';
      if (status === 'failed' && script.errorCode) extra.ErrorCode = script.errorCode;
    }
    if (!terminal && !this.events.has(eventName(status))) return;
    const sequence = this.sequence++;
    if (!this.delivery.reorder) {
      await this.send(status, sequence, extra);
      return;
    }
    if (!terminal) {
      this.held.push({ status, sequence, extra });
      if (status === this.lastProgress) await this.flushHeld();
      return;
    }
    await this.flushHeld();
    await this.send(status, sequence, extra);
    // A stale progress callback after the end: it must change nothing.
    const stale = this.steps.find((s) => s.status === 'ringing' && this.events.has('ringing'));
    if (stale) await this.send('ringing', sequence + 1, {});
  }

  private async flushHeld(): Promise<void> {
    const held = this.held.reverse();
    this.held = [];
    for (const h of held) await this.send(h.status, h.sequence, h.extra);
  }

  private async send(status: FakeCallStatus, sequence: number, extra: Record<string, string>): Promise<void> {
    const copies = Array.from({ length: Math.max(1, this.delivery.copies) }, () =>
      this.host.post(this.call, status, sequence, extra),
    );
    const all = Promise.all(copies).then(() => undefined);
    this.sends.add(all);
    try {
      await all;
    } finally {
      this.sends.delete(all);
    }
  }
}

/** The StatusCallbackEvent name that asks for a status's callback. */
function eventName(status: FakeCallStatus): string {
  return status === 'in-progress' ? 'answered' : status;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
