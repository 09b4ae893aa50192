import { describe, expect, it } from 'vitest';
import type { DialContext, DialRequest } from '../../src/dialer/dialer.js';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { DialError } from '../../src/errors.js';
import type { CallEvent } from '../../src/types.js';
import { eventually } from '../support/queue-fixture.js';

function request(overrides: Partial<DialRequest> = {}): DialRequest {
  return {
    jobId: 'job-1',
    runId: 'run-1',
    businessId: 'b1',
    to: '+14155550101',
    attempt: 1,
    lockToken: 'tok-1',
    metadata: {},
    ...overrides,
  };
}

function recorder(): { ctx: DialContext; events: CallEvent[] } {
  const events: CallEvent[] = [];
  return {
    events,
    ctx: {
      async report(event) {
        events.push(event);
      },
    },
  };
}

describe('SimulatedDialer: unknown outcomes and findCall', () => {
  it('finds the call of a dial that succeeded, by job id and lock token only', async () => {
    const dialer = new SimulatedDialer({ durationMs: 60_000 });
    const { ctx } = recorder();
    const { callId } = await dialer.dial(request(), ctx);
    expect(await dialer.findCall(request(), 0)).toEqual({
      match: 'found',
      call: { jobId: 'job-1', lockToken: 'tok-1', callId, status: 'initiated' },
    });
    expect(await dialer.findCall(request({ lockToken: 'tok-2' }), 0)).toEqual({ match: 'none' });
    expect(await dialer.findCall(request({ jobId: 'job-2' }), 0)).toEqual({ match: 'none' });
    await dialer.hangup(callId);
  });

  it("'placed': dial() throws an unknown DialError, the call runs, findCall finds it with its state", async () => {
    const dialer = new SimulatedDialer({ durationMs: 20, unknownOutcome: () => 'placed' });
    const { ctx, events } = recorder();
    const error = await dialer.dial(request(), ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DialError);
    expect(error).toMatchObject({ kind: 'unknown', providerCode: 'SIMULATED_UNKNOWN' });
    const found = await dialer.findCall(request(), 0);
    expect(found).toMatchObject({ match: 'found', call: { jobId: 'job-1', lockToken: 'tok-1' } });
    await eventually(() => events.some((e) => e.status === 'completed'));
    // Its events carry the token, as a provider's webhooks would.
    const callId = found.match === 'found' ? found.call.callId : '';
    for (const e of events) expect(e).toMatchObject({ jobId: 'job-1', lockToken: 'tok-1', callId });
    expect(await dialer.findCall(request(), 0)).toMatchObject({
      match: 'found',
      call: { status: 'completed' },
    });
  });

  it("'not-placed': dial() throws an unknown DialError and there is no call to find", async () => {
    const dialer = new SimulatedDialer({
      unknownOutcome: (req) => (req.jobId === 'job-1' ? 'not-placed' : undefined),
    });
    const { ctx, events } = recorder();
    await expect(dialer.dial(request(), ctx)).rejects.toMatchObject({ kind: 'unknown' });
    expect(await dialer.findCall(request(), 0)).toEqual({ match: 'none' });
    expect(dialer.liveCalls).toBe(0);
    expect(events).toEqual([]);
  });
});
