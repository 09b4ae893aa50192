import type {
  DialContext,
  Dialer,
  DialRequest,
  DialResult,
  FindCallResult,
} from '../../src/dialer/dialer.js';
import { DialError } from '../../src/errors.js';
import type { CallEvent, CallStatus } from '../../src/types.js';
import type { FaultFlags } from './faults.js';
import type { ProcessGate } from './process-gate.js';
import type { Random } from './random.js';
import type { Trace } from './trace.js';
import type { VirtualClock } from './virtual-clock.js';

/** How call events reach the engine. */
export type Delivery = 'webhook' | 'report';

/** Options of {@link SimulatedProvider}. */
export interface SimulatedProviderOptions {
  clock: VirtualClock;
  /** The provider's own stream: call lengths, outcomes, event delays and losses. */
  rng: Random;
  trace: Trace;
  flags: FaultFlags;
  /** `webhook`: events go through `deliver` (the host's route); `report`: through `ctx.report`. */
  delivery: Delivery;
  /** Hands a webhook to a live process's `queue.handleCallEvent`; false when none is alive. */
  deliver: (event: CallEvent) => Promise<{ applied: boolean } | false>;
  /** Longest call, ring time included (ms). */
  maxCallMs: number;
}

/** A call as the provider knows it. */
interface Call {
  callId: string;
  req: DialRequest;
  status: CallStatus;
  /** The timers of events not reached yet (cleared by a hang-up). */
  timers: unknown[];
  ended: boolean;
  ctx: DialContext;
  process: number;
  /** Whether the dialing process is alive (report delivery needs it). */
  alive: () => boolean;
}

const TERMINAL = new Set<CallStatus>(['completed', 'busy', 'no-answer', 'failed', 'canceled']);

/**
 * The phone network as the simulation sees it: places calls for any process, plays each call's
 * events on the virtual clock (delayed, duplicated, reordered or lost, by the seed) and logs every
 * dial start and call end: the record the checkers measure the engine against. `fetchCall`
 * answers from this record.
 */
export class SimulatedProvider {
  private readonly calls = new Map<string, Call>();
  /** Dials sent by no process yet (waiting out their latency), by process. */
  private readonly unsent = new Map<number, Set<DialRequest>>();
  private nextCall = 1;

  /**
   * @param options - clock, seed stream, log, faults, event delivery
   */
  constructor(private readonly options: SimulatedProviderOptions) {}

  /** Calls not ended yet. */
  get liveCalls(): number {
    let n = 0;
    for (const call of this.calls.values()) if (!call.ended) n++;
    return n;
  }

  /**
   * The dialer one process uses: its requests travel through its gate (latency, and a crash that
   * loses them), the calls live here.
   * @param process - the process's number, for the log
   * @param gate - the process's gate to the provider (no outages: dial errors are drawn here)
   * @param alive - whether the process still runs
   */
  dialerFor(process: number, gate: ProcessGate, alive: () => boolean): Dialer {
    return {
      dial: (req, ctx) => this.dial(process, gate, alive, req, ctx),
      hangup: (callId) => gate.run(async () => this.hangup(callId)),
      fetchCall: (callId) => gate.run(async () => this.fetchCall(callId)),
      findCall: (req) => gate.run(async () => this.findCall(req)),
    };
  }

  /** A process crashed: the requests it had not sent yet were never sent (their live time ends now). */
  crashed(process: number): void {
    for (const req of this.unsent.get(process) ?? []) this.log('dial:abandoned', req, process);
    this.unsent.delete(process);
  }

  private async dial(
    process: number,
    gate: ProcessGate,
    alive: () => boolean,
    req: DialRequest,
    ctx: DialContext,
  ): Promise<DialResult> {
    const { rng, flags } = this.options;
    this.log('dial:start', req, process);
    const unsent = this.unsent.get(process) ?? new Set();
    this.unsent.set(process, unsent);
    unsent.add(req);
    // The request travels (and its process may crash meanwhile: then it is never sent).
    await gate.run(async () => {});
    unsent.delete(req);
    if (flags.dialErrors && rng.chance(0.1)) {
      this.log('dial:rejected', req, process, undefined, undefined, 'permanent');
      throw new DialError('permanent', 'simulated invalid number', { providerCode: 'SIM_INVALID' });
    }
    if (flags.transientDialErrors && rng.chance(0.15)) {
      this.log('dial:rejected', req, process, undefined, undefined, 'transient');
      throw new DialError('transient', 'simulated rate limit', { providerCode: 'SIM_BUSY_LINE' });
    }
    const call = this.place(process, req, ctx, alive);
    if (flags.unknownOutcome && rng.chance(0.1)) {
      // Placed, but the answer is lost on the way back: the engine cannot know the call exists.
      this.log('dial:threw', req, process, undefined, call.callId, 'answer lost after the call was placed');
      throw new Error('socket hang up (simulated, after the call was placed)');
    }
    await gate.run(async () => {});
    this.log('dial:returned', req, process, undefined, call.callId);
    return { callId: call.callId };
  }

  private place(process: number, req: DialRequest, ctx: DialContext, alive: () => boolean): Call {
    const { rng, clock, maxCallMs } = this.options;
    const callId = `CA${String(this.nextCall++).padStart(6, '0')}`;
    const call: Call = { callId, req, status: 'initiated', timers: [], ended: false, ctx, process, alive };
    this.calls.set(callId, call);
    this.log('call:start', req, process, undefined, callId);
    const ringMs = rng.int(0, Math.min(3_000, maxCallMs));
    const roll = rng.next();
    const outcome: CallStatus =
      roll < 0.6 ? 'completed' : roll < 0.75 ? 'busy' : roll < 0.9 ? 'no-answer' : 'failed';
    const talkMs = outcome === 'completed' ? rng.int(0, maxCallMs - ringMs) : 0;
    const at = (ms: number, status: CallStatus) =>
      call.timers.push(clock.setTimeout(() => this.reach(call, status, talkMs), ms));
    this.emit(call, 'initiated');
    at(Math.min(ringMs, 200), 'ringing');
    if (outcome === 'completed') at(ringMs, 'in-progress');
    at(ringMs + talkMs, outcome);
    return call;
  }

  /** The call reaches `status` at the provider (ends it when terminal) and tells the engine. */
  private reach(call: Call, status: CallStatus, talkMs = 0): void {
    if (call.ended) return;
    call.status = status;
    if (TERMINAL.has(status)) {
      call.ended = true;
      for (const timer of call.timers) this.options.clock.clearTimeout(timer);
      this.log('call:end', call.req, call.process, status, call.callId);
    }
    this.emit(call, status, Math.round(talkMs / 1000));
  }

  /** Sends one event of `call`: delayed, duplicated or lost as the seed says. */
  private emit(call: Call, status: CallStatus, durationSec?: number): void {
    const { rng, flags, clock } = this.options;
    const { jobId, lockToken } = call.req;
    const event: CallEvent = { jobId, lockToken, callId: call.callId, status };
    if (TERMINAL.has(status)) event.durationSec = durationSec;
    if (flags.eventLoss && rng.chance(0.08)) {
      this.log('event:lost', call.req, call.process, status, call.callId);
      return;
    }
    const copies = flags.eventChaos && rng.chance(0.15) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = flags.eventChaos ? rng.int(0, 3_000) : 0;
      clock.setTimeout(() => void this.send(call, { ...event }), delay);
    }
  }

  private async send(call: Call, event: CallEvent): Promise<void> {
    const fields = [call.req, call.process] as const;
    try {
      if (this.options.delivery === 'report') {
        // An in-process dialer dies with its process: nobody reports its calls any more.
        if (!call.alive()) return;
        await call.ctx.report(event);
        this.log('event:delivered', ...fields, event.status, call.callId, 'report');
        return;
      }
      const result = await this.options.deliver(event);
      if (result === false) return;
      this.log('event:delivered', ...fields, event.status, call.callId, `applied=${result.applied}`);
    } catch (err) {
      this.log('event:failed', ...fields, event.status, call.callId, (err as Error).message);
    }
  }

  private hangup(callId: string): void {
    const call = this.calls.get(callId);
    if (!call || call.ended) return;
    this.reach(call, call.status === 'in-progress' ? 'completed' : 'canceled');
  }

  /** The call placed for the job's attempt (a provider lists calls by number and start time; here by token). */
  private findCall(req: DialRequest): FindCallResult {
    const placed = [...this.calls.values()].filter(
      (call) => call.req.jobId === req.jobId && call.req.lockToken === req.lockToken,
    );
    const [call] = placed;
    if (!call) return { match: 'none' };
    return { match: 'found', call: { jobId: req.jobId, callId: call.callId, status: call.status } };
  }

  private fetchCall(callId: string): CallEvent | undefined {
    const call = this.calls.get(callId);
    return call && { jobId: '', callId, status: call.status };
  }

  private log(
    ev: string,
    req: DialRequest,
    process: number,
    status?: string,
    callId?: string,
    note?: string,
  ) {
    const { jobId, runId, businessId, attempt, lockToken } = req;
    this.options.trace.add({
      ev,
      process,
      jobId,
      runId,
      businessId,
      attempt,
      lockToken,
      status,
      callId,
      note,
    });
  }
}
