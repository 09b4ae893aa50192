import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { TwilioDialer, type TwilioDialerOptions } from '../../../src/dialer/twilio/twilio-dialer.js';
import { ValidationError, WebhookSignatureError } from '../../../src/errors.js';
import { twilioSignature } from '../../support/fake-twilio/signing.js';

const authToken = '12345678901234567890123456789012';
const route = 'https://api.example.com/twilio/status';

function dialer(options: Partial<TwilioDialerOptions> = {}): TwilioDialer {
  return new TwilioDialer({
    accountSid: 'AC00000000000000000000000000000000',
    authToken,
    from: '+14155550100',
    url: 'https://api.example.com/twilio/voice',
    statusCallbackUrl: route,
    ...options,
  });
}

function callback(status: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AccountSid: 'AC00000000000000000000000000000000',
    CallSid: 'CA0123456789abcdef0123456789abcdef',
    CallStatus: status,
    From: '+14155550100',
    To: '+14155550101',
    ApiVersion: '2010-04-01',
    ...extra,
  };
}

const signedUrl = `${route}?jobId=job-1&lockToken=tok-1`;

describe('Twilio signatures (test helper vs the SDK)', () => {
  it('computes X-Twilio-Signature exactly as the SDK expects it', () => {
    const params = callback('ringing', { Multi: 'b' });
    const mine = twilioSignature(authToken, signedUrl, params);
    expect(mine).toBe(twilio.getExpectedTwilioSignature(authToken, signedUrl, params));
    expect(twilio.validateRequest(authToken, mine, signedUrl, params)).toBe(true);
    const repeated = { ...params, Multi: ['b', 'a', 'b'] };
    expect(
      twilio.validateRequest(authToken, twilioSignature(authToken, signedUrl, repeated), signedUrl, repeated),
    ).toBe(true);
  });
});

describe('TwilioDialer.parseWebhook', () => {
  it('accepts a valid signature and maps the callback to a call event', () => {
    const params = callback('completed', {
      CallDuration: '42',
      AnsweredBy: 'human',
      SequenceNumber: '3',
      Timestamp: 'Tue, 31 Aug 2010 20:36:28 +0000',
    });
    const event = dialer().parseWebhook({
      url: signedUrl,
      params,
      signature: twilioSignature(authToken, signedUrl, params),
    });
    expect(event).toEqual({
      jobId: 'job-1',
      lockToken: 'tok-1',
      callId: 'CA0123456789abcdef0123456789abcdef',
      status: 'completed',
      durationSec: 42,
      answeredBy: 'human',
      sequenceNumber: 3,
      at: new Date('2010-08-31T20:36:28Z'),
    });
  });

  it.each([
    ['queued', 'initiated'],
    ['initiated', 'initiated'],
    ['ringing', 'ringing'],
    ['in-progress', 'in-progress'],
    ['completed', 'completed'],
    ['busy', 'busy'],
    ['no-answer', 'no-answer'],
    ['failed', 'failed'],
    ['canceled', 'canceled'],
  ])('maps CallStatus %s to %s', (twilioStatus, status) => {
    const params = callback(twilioStatus);
    const event = dialer().parseWebhook({
      url: signedUrl,
      params,
      signature: twilioSignature(authToken, signedUrl, params),
    });
    expect(event.status).toBe(status);
  });

  it('carries ErrorCode and ErrorMessage of a failed call', () => {
    const params = callback('failed', { ErrorCode: '31005', ErrorMessage: 'Connection error' });
    const event = dialer().parseWebhook({
      url: signedUrl,
      params,
      signature: twilioSignature(authToken, signedUrl, params),
    });
    expect(event).toMatchObject({ status: 'failed', errorCode: '31005', errorMessage: 'Connection error' });
  });

  it('rejects a missing signature', () => {
    const params = callback('completed');
    for (const signature of [undefined, null, '']) {
      expect(() => dialer().parseWebhook({ url: signedUrl, params, signature })).toThrow(
        WebhookSignatureError,
      );
    }
  });

  it('rejects a forged signature, tampered parameters and a swapped job id', () => {
    const params = callback('ringing');
    const signature = twilioSignature(authToken, signedUrl, params);
    const d = dialer();
    expect(() =>
      d.parseWebhook({
        url: signedUrl,
        params,
        signature: twilioSignature('wrong-token', signedUrl, params),
      }),
    ).toThrow(WebhookSignatureError);
    expect(() =>
      d.parseWebhook({ url: signedUrl, params: { ...params, CallStatus: 'completed' }, signature }),
    ).toThrow(WebhookSignatureError);
    const otherJob = `${route}?jobId=job-2&lockToken=tok-1`;
    expect(() => d.parseWebhook({ url: otherJob, params, signature })).toThrow(WebhookSignatureError);
    const otherToken = `${route}?jobId=job-1&lockToken=tok-2`;
    expect(() => d.parseWebhook({ url: otherToken, params, signature })).toThrow(WebhookSignatureError);
  });

  it('checks the signature before the body, so a forger learns nothing', () => {
    expect(() => dialer().parseWebhook({ url: signedUrl, params: {}, signature: 'nope' })).toThrow(
      WebhookSignatureError,
    );
  });

  it('rejects a signed body without a known CallStatus or a URL without a job id (ValidationError)', () => {
    const params = callback('exploded');
    expect(() =>
      dialer().parseWebhook({
        url: signedUrl,
        params,
        signature: twilioSignature(authToken, signedUrl, params),
      }),
    ).toThrow(ValidationError);
    const good = callback('ringing');
    expect(() =>
      dialer().parseWebhook({ url: route, params: good, signature: twilioSignature(authToken, route, good) }),
    ).toThrow(ValidationError);
  });

  it('accepts a callback received behind a proxy (internal URL), through the URL the dialer gave Twilio', () => {
    const params = callback('ringing');
    const signature = twilioSignature(authToken, signedUrl, params);
    const internal = 'http://10.0.0.7:3000/twilio/status?jobId=job-1&lockToken=tok-1';
    expect(dialer().parseWebhook({ url: internal, params, signature }).status).toBe('ringing');
  });

  it('uses publicUrl when the callback was signed with a URL the dialer does not generate', () => {
    // e.g. calls placed by an earlier deployment whose route had another query string
    const signed = 'https://hooks.example.com/prefix/twilio/status?v=1&jobId=job-1&lockToken=tok-1';
    const internal = 'http://127.0.0.1:8080/twilio/status?v=1&jobId=job-1&lockToken=tok-1';
    const params = callback('busy');
    const signature = twilioSignature(authToken, signed, params);
    expect(() => dialer().parseWebhook({ url: internal, params, signature })).toThrow(WebhookSignatureError);
    const behindProxy = dialer({ publicUrl: 'https://hooks.example.com/prefix' });
    expect(behindProxy.parseWebhook({ url: internal, params, signature }).status).toBe('busy');
  });

  it('keeps a status callback route that has its own query string byte for byte', () => {
    const d = dialer({ statusCallbackUrl: `${route}?tenant=a%20b` });
    const url = `${route}?tenant=a%20b&jobId=j&lockToken=t`;
    const params = callback('in-progress');
    const event = d.parseWebhook({ url, params, signature: twilioSignature(authToken, url, params) });
    expect(event).toMatchObject({ jobId: 'j', lockToken: 't', status: 'in-progress' });
  });

  it('accepts a port the SDK adds or drops (Twilio signs without the default port)', () => {
    const params = callback('ringing');
    const signature = twilioSignature(authToken, signedUrl, params);
    const withPort = 'https://api.example.com:443/twilio/status?jobId=job-1&lockToken=tok-1';
    expect(
      dialer({ statusCallbackUrl: 'https://other.example.com/x' }).parseWebhook({
        url: withPort,
        params,
        signature,
      }).status,
    ).toBe('ringing');
  });
});
