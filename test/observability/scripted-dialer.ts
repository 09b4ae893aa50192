import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import { DialError } from '../../src/errors.js';
import type { CallEvent } from '../../src/types.js';

/** One call the scripted dialer placed. */
export interface ScriptedCall {
  req: DialRequest;
  ctx: DialContext;
  callId: string;
  ended: boolean;
}

/**
 * A dialer whose calls last until the test ends them, and whose `dial()` fails (permanently, with
 * a provider code) for the numbers it is told to fail.
 */
export class ScriptedDialer implements Dialer {
  readonly calls: ScriptedCall[] = [];
  private next = 1;

  /** @param failing - numbers whose `dial()` throws `DialError('permanent', ..., { providerCode: '21211' })` */
  constructor(private readonly failing: ReadonlySet<string> = new Set()) {}

  async dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
    if (this.failing.has(req.to))
      throw new DialError('permanent', `invalid number ${req.to}`, { providerCode: '21211' });
    const callId = `CA${String(this.next++).padStart(4, '0')}`;
    this.calls.push({ req, ctx, callId, ended: false });
    return { callId };
  }

  async fetchCall(): Promise<CallEvent | undefined> {
    return undefined;
  }

  /** Calls placed and not ended by the test yet, in the order they were placed. */
  open(): ScriptedCall[] {
    return this.calls.filter((call) => !call.ended);
  }

  /** The event that ends `call`, with the token and call id a webhook would carry. */
  endEvent(call: ScriptedCall, status: CallEvent['status'], durationSec?: number): CallEvent {
    call.ended = true;
    const { jobId, lockToken } = call.req;
    return {
      jobId,
      lockToken,
      callId: call.callId,
      status,
      ...(durationSec !== undefined && { durationSec }),
    };
  }
}
