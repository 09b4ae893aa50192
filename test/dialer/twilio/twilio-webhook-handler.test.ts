import { describe, expect, it } from 'vitest';
import { TwilioDialer } from '../../../src/dialer/twilio/twilio-dialer.js';
import { createTwilioWebhookHandler } from '../../../src/dialer/twilio/twilio-webhook.js';
import { ValidationError } from '../../../src/errors.js';
import type { Logger } from '../../../src/logger.js';
import type { CallEvent } from '../../../src/types.js';
import { twilioSignature } from '../../support/fake-twilio/signing.js';

const authToken = 'secret-token';
const route = 'https://api.example.com/twilio/status';
const dialer = new TwilioDialer({
  accountSid: 'AC00000000000000000000000000000000',
  authToken,
  from: '+14155550100',
  twiml: '<Response><Say>Hello</Say></Response>',
  statusCallbackUrl: route,
});

function recordingQueue(fail?: Error) {
  const events: CallEvent[] = [];
  return {
    events,
    async handleCallEvent(event: CallEvent) {
      if (fail) throw fail;
      events.push(event);
      return { applied: true };
    },
  };
}

function signedRequest(
  url: string,
  params: Record<string, string>,
  options: { signedUrl?: string; token?: string; signature?: string | null; contentType?: string } = {},
): Request {
  const headers = new Headers({ 'content-type': options.contentType ?? 'application/x-www-form-urlencoded' });
  const signature =
    options.signature === undefined
      ? twilioSignature(options.token ?? authToken, options.signedUrl ?? url, params)
      : options.signature;
  if (signature !== null) headers.set('x-twilio-signature', signature);
  return new Request(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
}

const params = { CallSid: 'CA00000000000000000000000000000001', CallStatus: 'ringing', AccountSid: 'AC1' };
const url = `${route}?jobId=job-9&lockToken=tok-9`;

describe('createTwilioWebhookHandler', () => {
  it('hands a signed callback to the queue and answers 204', async () => {
    const queue = recordingQueue();
    const response = await createTwilioWebhookHandler({ dialer, queue })(signedRequest(url, params));
    expect(response.status).toBe(204);
    expect(queue.events).toEqual([
      { jobId: 'job-9', lockToken: 'tok-9', callId: 'CA00000000000000000000000000000001', status: 'ringing' },
    ]);
  });

  it('answers 403 to a forged or unsigned callback and hands nothing to the queue', async () => {
    const queue = recordingQueue();
    const handler = createTwilioWebhookHandler({ dialer, queue });
    expect((await handler(signedRequest(url, params, { token: 'guessed' }))).status).toBe(403);
    expect((await handler(signedRequest(url, params, { signature: null }))).status).toBe(403);
    expect((await handler(signedRequest(url, params, { signature: 'AAAA' }))).status).toBe(403);
    expect(queue.events).toEqual([]);
  });

  it('answers 400 to a body that is not a form, or a signed form without a call status', async () => {
    const queue = recordingQueue();
    const handler = createTwilioWebhookHandler({ dialer, queue });
    const json = signedRequest(url, params, { contentType: 'application/json' });
    expect((await handler(json)).status).toBe(400);
    const noStatus = { CallSid: 'CA00000000000000000000000000000001' };
    expect((await handler(signedRequest(url, noStatus))).status).toBe(400);
    expect(queue.events).toEqual([]);
  });

  it('answers 413 to an oversized body without reading it', async () => {
    const queue = recordingQueue();
    const big = signedRequest(url, { ...params, Pad: 'x'.repeat(70_000) });
    const headers = new Headers(big.headers);
    headers.set('content-length', '70100');
    const response = await createTwilioWebhookHandler({ dialer, queue })(
      new Request(url, { method: 'POST', headers, body: await big.text() }),
    );
    expect(response.status).toBe(413);
    expect(queue.events).toEqual([]);
  });

  it('answers 405 to anything but POST', async () => {
    const handler = createTwilioWebhookHandler({ dialer, queue: recordingQueue() });
    const response = await handler(new Request(url, { method: 'GET' }));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('reads the request with publicUrl behind a proxy', async () => {
    const signedUrl = 'https://public.example.com/base/hook?x=1&jobId=job-9&lockToken=tok-9';
    const internal = 'http://10.1.2.3:8080/hook?x=1&jobId=job-9&lockToken=tok-9';
    const queue = recordingQueue();
    const request = () => signedRequest(internal, params, { signedUrl });
    expect((await createTwilioWebhookHandler({ dialer, queue })(request())).status).toBe(403);
    const proxied = createTwilioWebhookHandler({
      dialer,
      queue,
      publicUrl: 'https://public.example.com/base',
    });
    expect((await proxied(request())).status).toBe(204);
    expect(queue.events).toHaveLength(1);
  });

  it('answers 400 when the queue rejects the event, 500 (logged) when it fails', async () => {
    const invalid = recordingQueue(new ValidationError([{ field: 'event', message: 'bad' }]));
    expect(
      (await createTwilioWebhookHandler({ dialer, queue: invalid })(signedRequest(url, params))).status,
    ).toBe(400);
    const logged: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn() {},
      error(_obj, msg) {
        logged.push(msg);
      },
    };
    const down = recordingQueue(new Error('database unreachable'));
    const response = await createTwilioWebhookHandler({ dialer, queue: down, logger })(
      signedRequest(url, params),
    );
    expect(response.status).toBe(500);
    expect(logged).toEqual(['OUTBOUND_WEBHOOK_FAILED']);
  });
});
