import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTwilio, type FakeTwilioOptions } from '../../support/fake-twilio/fake-twilio.js';
import { fakeTwilioClient } from '../../support/fake-twilio/fake-twilio-client.js';
import { type ServedHandler, serveWebHandler } from '../../support/fake-twilio/webhook-receiver.js';
import { eventually } from '../../support/queue-fixture.js';

/** The fake itself: if it did not duplicate, reorder or sign, the end-to-end tests would prove nothing. */
describe('FakeTwilio', () => {
  let fake: FakeTwilio | undefined;
  let host: ServedHandler | undefined;
  afterEach(async () => {
    await fake?.stop();
    await host?.close();
    fake = host = undefined;
  });

  /** A fake and a receiver that checks each callback with the SDK and keeps its CallStatus. */
  async function setup(knobs: FakeTwilioOptions = {}) {
    fake = await new FakeTwilio(knobs).start();
    const received: { status: string; valid: boolean; sequence: string }[] = [];
    const token = fake.authToken;
    host = await serveWebHandler(async (request) => {
      const params = Object.fromEntries(new URLSearchParams(await request.text()));
      const signature = request.headers.get('x-twilio-signature') ?? '';
      received.push({
        status: params.CallStatus ?? '',
        valid: twilio.validateRequest(token, signature, request.url, params),
        sequence: params.SequenceNumber ?? '',
      });
      return new Response(null, { status: 204 });
    });
    const client = fakeTwilioClient(fake);
    const place = (to = '+14155550101') =>
      client.calls.create({
        to,
        from: '+14155550100',
        url: 'https://example.com/voice.xml',
        statusCallback: `${host!.baseUrl}/status?jobId=j&lockToken=t`,
        statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      });
    return { fake, client, received, place };
  }

  it('speaks the Calls API to the real client and signs callbacks the SDK accepts', async () => {
    const { fake, client, received, place } = await setup();
    const call = await place();
    expect(call).toMatchObject({
      status: 'queued',
      to: '+14155550101',
      from: '+14155550100',
      direction: 'outbound-api',
    });
    expect(call.dateCreated).toBeInstanceOf(Date);
    await fake.idle();
    expect(received.map((r) => r.status)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(received.every((r) => r.valid)).toBe(true);
    expect((await client.calls(call.sid).fetch()).status).toBe('completed');
    expect(fake.creates).toMatchObject([{ to: '+14155550101', status: 201, sid: call.sid }]);
  });

  it('sends only the terminal callback when no progress events were asked for', async () => {
    const { fake, client, received } = await setup({ outcome: () => 'busy' });
    await client.calls.create({
      to: '+14155550101',
      from: '+14155550100',
      twiml: '<Response/>',
      statusCallback: `${host!.baseUrl}/status`,
    });
    await fake.idle();
    expect(received.map((r) => r.status)).toEqual(['busy']);
  });

  it('duplicates and reorders callbacks on request', async () => {
    const { fake, received, place } = await setup({ duplicateCallbacks: 2, reorderCallbacks: true });
    await place();
    await fake.idle();
    expect(received.map((r) => r.status)).toEqual([
      'in-progress',
      'in-progress',
      'ringing',
      'ringing',
      'initiated',
      'initiated',
      'completed',
      'completed',
      'ringing',
      'ringing',
    ]);
    expect(received.every((r) => r.valid)).toBe(true);
  });

  it('fires the first callbacks before answering the create', async () => {
    const { received, place } = await setup({ callbacksBeforeCreateResponse: 2 });
    await place();
    expect(received.slice(0, 2).map((r) => r.status)).toEqual(['initiated', 'ringing']);
  });

  it('refuses bad credentials (20003), configured numbers and a rate-limit burst', async () => {
    const { fake, place } = await setup({
      errorFor: (to) => (to.endsWith('9') ? 21211 : undefined),
      rateLimitBurst: 1,
    });
    await expect(place()).rejects.toMatchObject({ status: 429, code: 20429 });
    await expect(place('+14155550109')).rejects.toMatchObject({ status: 400, code: 21211 });
    const stranger = fakeTwilioClient(fake, { authToken: 'wrong' });
    await expect(stranger.calls('CA00000000000000000000000000000000').fetch()).rejects.toMatchObject({
      status: 401,
      code: 20003,
    });
    expect(fake.creates.map((c) => c.status)).toEqual([429, 400]);
  });

  it('hangs up: a ringing call is canceled, an ended one answers 21220', async () => {
    const { fake, client, received, place } = await setup({ stepMs: 200 });
    const call = await place();
    await client.calls(call.sid).update({ status: 'completed' });
    await fake.idle();
    expect(fake.calls.get(call.sid)?.status).toBe('canceled');
    expect(received.at(-1)?.status).toBe('canceled');
    await expect(client.calls(call.sid).update({ status: 'completed' })).rejects.toMatchObject({
      code: 21220,
    });
  });

  it('lists calls newest first, filtered by To, From, Status and StartTime, across pages', async () => {
    const { fake, client, place } = await setup({
      queuedMs: (to) => (to.endsWith('3') ? 60_000 : 0),
      callDurationMs: 60_000,
    });
    const first = await place();
    const second = await place();
    const elsewhere = await place('+14155550102');
    const queued = await place('+14155550103');
    await eventually(() => fake.calls.get(second.sid)?.status === 'in-progress');
    const mine = await client.calls.list({
      to: '+14155550101',
      from: '+14155550100',
      pageSize: 1,
      limit: 10,
    });
    expect(mine.map((c) => c.sid)).toEqual([second.sid, first.sid]);
    expect(fake.lists.filter((l) => l.query.To === '+14155550101')).toHaveLength(2); // two pages
    expect(await client.calls.list({ from: '+14155550199' })).toEqual([]);
    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    const started = await client.calls.list({ startTimeAfter: today });
    expect(started.map((c) => c.sid).sort()).toEqual([first.sid, second.sid, elsewhere.sid].sort());
    expect(await client.calls.list({ startTimeAfter: new Date(Date.now() + 86_400_000) })).toEqual([]);
    const stillQueued = await client.calls.list({ status: 'queued' });
    expect(stillQueued.map((c) => c.sid)).toEqual([queued.sid]);
    expect(stillQueued[0]?.startTime).toBeNull();
    for (const call of [first, second, elsewhere, queued])
      await client.calls(call.sid).update({ status: 'completed' });
  });

  it('drops the connection or answers 500 after creating the call, or drops it before, on request', async () => {
    const faults = ['reset-after-create', '500-after-create', 'reset-before-create'] as const;
    const { fake, place } = await setup({ createFault: (_to, n) => faults[n - 1] });
    await expect(place()).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(place()).rejects.toMatchObject({ status: 500, code: 20500 });
    await expect(place()).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(fake.creates.map((c) => [c.fault, c.status, c.sid !== undefined])).toEqual([
      ['reset-after-create', 0, true],
      ['500-after-create', 500, true],
      ['reset-before-create', 0, false],
    ]);
    expect(fake.calls.size).toBe(2);
    await fake.idle();
  });
});
