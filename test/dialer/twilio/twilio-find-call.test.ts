import { afterEach, describe, expect, it } from 'vitest';
import type { DialRequest } from '../../../src/dialer/dialer.js';
import type { TwilioDialer, TwilioDialerOptions } from '../../../src/dialer/twilio/twilio-dialer.js';
import { createTwilioWebhookHandler } from '../../../src/dialer/twilio/twilio-webhook.js';
import { DialError } from '../../../src/errors.js';
import type { CallEvent } from '../../../src/types.js';
import { FakeTwilio, type FakeTwilioOptions } from '../../support/fake-twilio/fake-twilio.js';
import { fakeTwilioDialer } from '../../support/fake-twilio/fake-twilio-client.js';
import { type ServedHandler, serveWebHandler } from '../../support/fake-twilio/webhook-receiver.js';
import { eventually } from '../../support/queue-fixture.js';

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

/**
 * A create whose answer is lost must not be retried blindly (SPEC §3 guarantee 2): the dialer
 * says `unknown`, and `findCall` tells the queue whether a call exists, over the real twilio
 * client and the fake's Calls list.
 */
describe('TwilioDialer: dials whose outcome is unknown, and findCall', () => {
  let fake: FakeTwilio | undefined;
  let host: ServedHandler | undefined;
  afterEach(async () => {
    await fake?.stop();
    await host?.close();
    fake = undefined;
    host = undefined;
  });

  async function setup(knobs: FakeTwilioOptions = {}, options: Partial<TwilioDialerOptions> = {}) {
    fake = await new FakeTwilio(knobs).start();
    const events: CallEvent[] = [];
    let dialer: TwilioDialer | undefined;
    host = await serveWebHandler((req) =>
      createTwilioWebhookHandler({
        dialer: dialer!,
        queue: {
          async handleCallEvent(event) {
            events.push(event);
          },
        },
      })(req),
    );
    dialer = fakeTwilioDialer(fake, host.baseUrl, options);
    return { fake, dialer, events };
  }

  /** Dials and returns what dial() threw, with the instant the dial started. */
  async function dialFailing(dialer: TwilioDialer, req: DialRequest) {
    const since = Date.now();
    const error = await dialer.dial(req).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DialError);
    return { error: error as DialError, since };
  }

  it('finds the call placed by a create whose connection was reset before the answer', async () => {
    const { fake, dialer, events } = await setup({
      createFault: (to) => (to === '+14155550101' ? 'reset-after-create' : undefined),
      callDurationMs: 60_000,
    });
    const { error, since } = await dialFailing(dialer, request());
    expect(error).toMatchObject({ kind: 'unknown', providerCode: 'ECONNRESET' });
    expect(fake.creates).toMatchObject([{ status: 0, fault: 'reset-after-create' }]);
    const placed = fake.creates[0]!.sid!;
    expect(fake.calls.has(placed)).toBe(true);

    const found = await dialer.findCall(request(), since);
    expect(found).toMatchObject({ match: 'found', call: { jobId: '', callId: placed } });
    if (found.match === 'found') expect(['initiated', 'ringing', 'in-progress']).toContain(found.call.status);

    // The other way the queue learns the call id: its callbacks carry the job's token.
    await eventually(() => events.length > 0);
    expect(events[0]).toMatchObject({ jobId: 'job-1', lockToken: 'tok-1', callId: placed });
    await dialer.hangup(placed);
  });

  it('finds the call placed by a create answered 500 (20500), with its end state once over', async () => {
    const { fake, dialer } = await setup({ createFault: () => '500-after-create' });
    const { error, since } = await dialFailing(dialer, request());
    expect(error).toMatchObject({ kind: 'unknown', providerCode: '20500' });
    const placed = fake.creates[0]!.sid!;
    await fake.idle();
    const found = await dialer.findCall(request(), since);
    expect(found).toEqual({
      match: 'found',
      call: expect.objectContaining({ callId: placed, status: 'completed' }),
    });
  });

  it('finds a call still queued by Twilio (no start time yet)', async () => {
    const { fake, dialer } = await setup({ createFault: () => '500-after-create', queuedMs: () => 60_000 });
    const { since } = await dialFailing(dialer, request());
    const placed = fake.creates[0]!.sid!;
    expect(fake.calls.get(placed)?.status).toBe('queued');
    const found = await dialer.findCall(request(), since);
    expect(found).toMatchObject({ match: 'found', call: { callId: placed, status: 'initiated' } });
    // The two queries as Twilio receives them: started since midnight UTC, and still queued.
    const midnight = new Date(since - 5000);
    midnight.setUTCHours(0, 0, 0, 0);
    expect(fake.lists.map((l) => l.query)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          To: '+14155550101',
          From: '+14155550100',
          'StartTime>': midnight.toISOString().replace('.000Z', 'Z'),
        }),
        expect.objectContaining({ To: '+14155550101', From: '+14155550100', Status: 'queued' }),
      ]),
    );
    await dialer.hangup(placed);
  });

  it.each([
    [
      'the connection is reset before the call is created',
      { createFault: () => 'reset-before-create' as const },
    ],
    ['Twilio answers 500 without creating the call', { errorFor: () => ({ code: 20500, status: 500 }) }],
  ])('answers none when %s', async (_name, knobs: FakeTwilioOptions) => {
    const { fake, dialer } = await setup(knobs);
    const { error, since } = await dialFailing(dialer, request());
    expect(error.kind).toBe('unknown');
    expect(fake.calls.size).toBe(0);
    expect(await dialer.findCall(request(), since)).toEqual({ match: 'none' });
  });

  it('ignores calls to another number, from another caller id, or created before the dial', async () => {
    const { fake, dialer } = await setup(
      { createFault: (_to, n) => (n === 4 ? 'reset-after-create' : undefined) },
      { clockSkewMs: 0 },
    );
    const older = await dialer.dial(request({ jobId: 'old' }));
    // Created a minute before the dial that lost its answer (Twilio's dates have whole seconds).
    fake.calls.get(older.callId)!.createdAt = new Date(Date.now() - 60_000);
    await dialer.dial(request({ jobId: 'other-number', to: '+14155550102' }));
    await dialer.dial(request({ jobId: 'other-caller', from: '+14155550199' }));
    const { since } = await dialFailing(dialer, request());
    const placed = fake.creates.at(-1)!.sid!;
    expect(await dialer.findCall(request(), since)).toMatchObject({
      match: 'found',
      call: { callId: placed },
    });
  });

  it('reports ambiguous, with every candidate, when another job called the same number from the same caller id', async () => {
    const { fake, dialer } = await setup({
      createFault: (_to, n) => (n === 2 ? 'reset-after-create' : undefined),
      callDurationMs: 60_000,
    });
    const since = Date.now();
    const other = await dialer.dial(request({ jobId: 'job-2', lockToken: 'tok-2', runId: 'run-2' }));
    await dialFailing(dialer, request());
    const lost = fake.creates[1]!.sid!;
    const found = await dialer.findCall(request(), since);
    expect(found.match).toBe('ambiguous');
    if (found.match !== 'ambiguous') return;
    expect(found.calls.map((c) => c.callId).sort()).toEqual([other.callId, lost].sort());
    for (const call of found.calls) expect(['initiated', 'ringing', 'in-progress']).toContain(call.status);
    await Promise.all(found.calls.map((c) => dialer.hangup(c.callId)));
  });

  it('throws a transient DialError when Twilio cannot be asked', async () => {
    const { fake, dialer } = await setup();
    await fake.stop();
    const error = await dialer.findCall(request(), Date.now()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DialError);
    expect(error).toMatchObject({ kind: 'transient', providerCode: 'ECONNREFUSED' });
  });

  it('rejects a clock skew allowance out of range', async () => {
    await expect(setup({}, { clockSkewMs: -1 })).rejects.toThrow('clockSkewMs');
  });
});
