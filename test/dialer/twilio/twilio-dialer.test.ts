import { afterEach, describe, expect, it } from 'vitest';
import type { DialRequest } from '../../../src/dialer/dialer.js';
import { TwilioDialer, type TwilioDialerOptions } from '../../../src/dialer/twilio/twilio-dialer.js';
import { createTwilioWebhookHandler } from '../../../src/dialer/twilio/twilio-webhook.js';
import { DialError, ValidationError } from '../../../src/errors.js';
import type { CallEvent } from '../../../src/types.js';
import { FakeTwilio, type FakeTwilioOptions } from '../../support/fake-twilio/fake-twilio.js';
import { fakeTwilioClient, fakeTwilioDialer } from '../../support/fake-twilio/fake-twilio-client.js';
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

describe('TwilioDialer options', () => {
  const base: TwilioDialerOptions = {
    accountSid: 'AC00000000000000000000000000000000',
    authToken: 'token',
    from: '+14155550100',
    url: 'https://example.com/voice',
    statusCallbackUrl: 'https://example.com/status',
  };

  it('accepts valid options', () => {
    expect(() => new TwilioDialer(base)).not.toThrow();
  });

  it.each<[string, Partial<TwilioDialerOptions>, string]>([
    ['both url and twiml', { twiml: '<Response/>' }, 'exactly one of url'],
    ['neither url nor twiml', { url: undefined }, 'exactly one of url'],
    ['no auth token', { authToken: '' }, 'authToken'],
    ['no account sid nor client', { accountSid: undefined }, 'accountSid'],
    ['a relative callback URL', { statusCallbackUrl: '/status' }, 'absolute URL'],
    ['a callback URL that already has jobId', { statusCallbackUrl: 'https://e.com/s?jobId=1' }, 'jobId'],
    ['a ring timeout out of range', { timeoutSec: 0 }, 'timeoutSec'],
    [
      'a reserved create option',
      { createOptions: { statusCallback: 'https://evil.example' } },
      'createOptions.statusCallback',
    ],
  ])('rejects %s with a ValidationError', (_name, change, text) => {
    let error: unknown;
    try {
      new TwilioDialer({ ...base, ...change });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain(text);
  });
});

describe('TwilioDialer against the fake Twilio (real twilio client)', () => {
  let fake: FakeTwilio | undefined;
  let host: ServedHandler | undefined;
  afterEach(async () => {
    await fake?.stop();
    await host?.close();
    fake = undefined;
    host = undefined;
  });

  /** A fake Twilio, a dialer on the real client, and a host route that records parsed events. */
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
    return { fake, dialer, events, host };
  }

  it('places a call with the status callback route, job id and lock token', async () => {
    const { fake, dialer, events } = await setup(
      {},
      { machineDetection: 'Enable', timeoutSec: 25, createOptions: { record: true, timeLimit: 600 } },
    );
    const { callId } = await dialer.dial(request());
    expect(callId).toMatch(/^CA[0-9a-f]{32}$/);
    const params = fake.calls.get(callId)!.params;
    expect(params.get('To')).toBe('+14155550101');
    expect(params.get('From')).toBe('+14155550100');
    expect(params.get('Url')).toBe('https://example.com/voice.xml');
    expect(params.get('StatusCallback')).toMatch(/\/twilio\/status\?jobId=job-1&lockToken=tok-1$/);
    expect(params.getAll('StatusCallbackEvent')).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(params.get('StatusCallbackMethod')).toBe('POST');
    expect(params.get('MachineDetection')).toBe('Enable');
    expect(params.get('Timeout')).toBe('25');
    expect(params.get('Record')).toBe('true');
    expect(params.get('TimeLimit')).toBe('600');

    await fake.idle();
    expect(events.map((e) => e.status)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    for (const e of events) expect(e).toMatchObject({ jobId: 'job-1', lockToken: 'tok-1', callId });
    expect(fake.callbacks.every((c) => c.responseStatus === 204)).toBe(true);
  });

  it('uses the lead caller id over the default one, and inline TwiML when configured', async () => {
    const { fake, dialer } = await setup({}, { url: undefined, twiml: '<Response><Say>Hi</Say></Response>' });
    const { callId } = await dialer.dial(request({ from: '+14155550199' }));
    const params = fake.calls.get(callId)!.params;
    expect(params.get('From')).toBe('+14155550199');
    expect(params.get('Twiml')).toBe('<Response><Say>Hi</Say></Response>');
    expect(params.has('Url')).toBe(false);
  });

  it('reports the AMD verdict on the answered and completed events', async () => {
    const { fake, dialer, events } = await setup(
      { answeredBy: () => 'machine_start' },
      { machineDetection: 'DetectMessageEnd' },
    );
    const { callId } = await dialer.dial(request());
    await fake.idle();
    const completed = events.find((e) => e.status === 'completed') as CallEvent & { answeredBy?: string };
    expect(completed.answeredBy).toBe('machine_start');
    expect((await dialer.fetchCall(callId))?.answeredBy).toBe('machine_start');
  });

  it('fetches a call while live and after it ended; unknown calls are undefined', async () => {
    const { fake, dialer } = await setup({ callDurationMs: 1500 });
    const { callId } = await dialer.dial(request());
    await eventually(() => fake.calls.get(callId)?.status === 'in-progress');
    expect(await dialer.fetchCall(callId)).toMatchObject({ jobId: '', callId, status: 'in-progress' });
    await fake.idle();
    const ended = await dialer.fetchCall(callId);
    expect(ended).toMatchObject({ callId, status: 'completed' });
    expect(ended?.durationSec).toBeGreaterThanOrEqual(1);
    expect(await dialer.fetchCall('CA00000000000000000000000000000000')).toBeUndefined();
  });

  it('hangs up a live call; a call that already ended counts as hung up', async () => {
    const { fake, dialer, events } = await setup({ callDurationMs: 60_000 });
    const { callId } = await dialer.dial(request());
    await eventually(() => fake.calls.get(callId)?.status === 'in-progress');
    await dialer.hangup(callId);
    await fake.idle();
    expect(fake.calls.get(callId)?.status).toBe('completed');
    expect(events.at(-1)).toMatchObject({ status: 'completed', callId });
    await expect(dialer.hangup(callId)).resolves.toBeUndefined();
    await expect(dialer.hangup('CA00000000000000000000000000000000')).resolves.toBeUndefined();
  });

  it('maps an invalid number (21211) to a permanent DialError', async () => {
    const { fake, dialer } = await setup({ errorFor: (to) => (to.endsWith('0999') ? 21211 : undefined) });
    const error = await dialer.dial(request({ to: '+14155550999' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DialError);
    expect(error).toMatchObject({ kind: 'permanent', providerCode: '21211' });
    expect(fake.calls.size).toBe(0);
  });

  it('maps a rate limit (20429) to a transient DialError with Retry-After', async () => {
    const { dialer } = await setup({ rateLimitBurst: 1, retryAfterSec: 2 });
    const error = await dialer.dial(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'transient', providerCode: '20429', retryAfterMs: 2000 });
    await expect(dialer.dial(request())).resolves.toHaveProperty('callId');
  });

  it('maps bad credentials (20003) to a fatal DialError', async () => {
    const { fake } = await setup();
    const dialer = new TwilioDialer({
      client: fakeTwilioClient(fake, { authToken: 'not-the-token' }),
      authToken: fake.authToken,
      from: '+14155550100',
      url: 'https://example.com/voice.xml',
      statusCallbackUrl: 'https://example.com/status',
    });
    const error = await dialer.dial(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'fatal', providerCode: '20003' });
    expect(fake.calls.size).toBe(0);
  });

  it('maps Twilio being unreachable to a transient DialError', async () => {
    const { fake, dialer } = await setup();
    await fake.stop();
    const error = await dialer.dial(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'transient', providerCode: 'ECONNREFUSED' });
  });

  it('delivers callbacks that arrive before the create request returns', async () => {
    const { fake, dialer, events } = await setup({ callbacksBeforeCreateResponse: 2 });
    const seenBeforeReturn: string[] = [];
    const { callId } = await dialer.dial(request()).then((r) => {
      seenBeforeReturn.push(...events.map((e) => e.status));
      return r;
    });
    expect(seenBeforeReturn).toEqual(['initiated', 'ringing']);
    expect(events[0]?.callId).toBe(callId);
    await fake.idle();
    expect(events.map((e) => e.status)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
  });

  it('counts live calls and the most at once', async () => {
    const { fake, dialer } = await setup({ callDurationMs: 100 });
    await Promise.all([1, 2, 3].map((i) => dialer.dial(request({ jobId: `j${i}` }))));
    expect(fake.liveCalls).toBe(3);
    await fake.idle();
    expect(fake.liveCalls).toBe(0);
    expect(fake.maxLiveCalls).toBe(3);
    expect(fake.creates.map((c) => c.status)).toEqual([201, 201, 201]);
  });
});
