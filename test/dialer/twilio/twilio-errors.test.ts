import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { mapTwilioError } from '../../../src/dialer/twilio/twilio-errors.js';
import { DialError } from '../../../src/errors.js';

/** A RestException exactly as the SDK builds it from an error response. */
function restException(statusCode: number, code?: number, message = 'boom') {
  const body =
    code === undefined
      ? null
      : { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: statusCode };
  return new twilio.RestException({ statusCode, body });
}

describe('mapTwilioError', () => {
  it.each([
    [21211, 400],
    [21214, 400],
    [21215, 400],
    [21216, 400],
    [21217, 400],
    [21210, 400],
    [13224, 400],
    [21612, 400],
    [32205, 400],
  ])('treats %i (bad, blocked or forbidden number) as permanent', (code, status) => {
    const error = mapTwilioError(restException(status, code));
    expect(error).toBeInstanceOf(DialError);
    expect(error.kind).toBe('permanent');
    expect(error.providerCode).toBe(String(code));
    expect(error.message).toContain(String(code));
    expect(error.retryAfterMs).toBeUndefined();
  });

  it('treats rate limits as transient: Twilio refused the request before acting on it', () => {
    expect(mapTwilioError(restException(429, 20429))).toMatchObject({
      kind: 'transient',
      providerCode: '20429',
    });
    expect(mapTwilioError(restException(429))).toMatchObject({ kind: 'transient', providerCode: 'HTTP_429' });
  });

  it.each([
    [500, 20500, '20500'],
    [503, 20503, '20503'],
    [500, undefined, 'HTTP_500'],
    [502, undefined, 'HTTP_502'],
    [503, undefined, 'HTTP_503'],
    [504, undefined, 'HTTP_504'],
    [408, undefined, 'HTTP_408'],
  ])(
    'treats HTTP %i (code %s) as unknown: the create may have placed a call',
    (status, code, providerCode) => {
      expect(mapTwilioError(restException(status, code))).toMatchObject({ kind: 'unknown', providerCode });
    },
  );

  it('treats authentication failures and suspended accounts as fatal', () => {
    expect(mapTwilioError(restException(401, 20003)).kind).toBe('fatal');
    expect(mapTwilioError(restException(401, 20005)).kind).toBe('fatal');
    expect(mapTwilioError(restException(401)).kind).toBe('fatal');
    expect(mapTwilioError(restException(401, 20003)).providerCode).toBe('20003');
  });

  it('treats an unknown 4xx as permanent and an unknown code by its status', () => {
    expect(mapTwilioError(restException(400, 29999)).kind).toBe('permanent');
    expect(mapTwilioError(restException(404)).kind).toBe('permanent');
    expect(mapTwilioError(restException(503, 29999)).kind).toBe('unknown');
  });

  it('reads Retry-After (seconds or HTTP date) for transient and unknown errors only', () => {
    expect(mapTwilioError(restException(429, 20429), { headers: { 'retry-after': '3' } }).retryAfterMs).toBe(
      3000,
    );
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString();
    const fromDate = mapTwilioError(restException(503), {
      headers: new Headers({ 'Retry-After': inTwoSeconds }),
    });
    expect(fromDate.retryAfterMs).toBeGreaterThan(0);
    expect(fromDate.retryAfterMs).toBeLessThanOrEqual(2000);
    expect(
      mapTwilioError(restException(400, 21211), { headers: { 'retry-after': '3' } }).retryAfterMs,
    ).toBeUndefined();
    expect(
      mapTwilioError(restException(429, 20429), { headers: { 'retry-after': 'soon' } }).retryAfterMs,
    ).toBeUndefined();
  });

  it('reads the status and headers of an axios-style error response', () => {
    const err = Object.assign(new Error('Request failed'), {
      response: { status: 429, headers: { 'retry-after': '1' } },
    });
    const error = mapTwilioError(err);
    expect(error.kind).toBe('transient');
    expect(error.retryAfterMs).toBe(1000);
  });

  /** A socket error as Node and undici raise it. */
  const netError = (code: string, message = code) => Object.assign(new Error(message), { code });

  it.each([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENETDOWN',
    'UND_ERR_CONNECT_TIMEOUT',
    'ERR_SOCKET_CONNECTION_TIMEOUT',
  ])('treats %s (the request was never sent) as transient', (code) => {
    const error = mapTwilioError(netError(code));
    expect(error).toMatchObject({ kind: 'transient', providerCode: code });
    expect(error.message).toContain('unreachable');
  });

  it.each([
    'ECONNRESET',
    'ETIMEDOUT',
    'ESOCKETTIMEDOUT',
    'EPIPE',
    'ECONNABORTED',
    'UND_ERR_SOCKET',
    'ERR_NETWORK',
  ])('treats %s (the request may have been sent) as unknown', (code) => {
    const error = mapTwilioError(netError(code));
    expect(error).toMatchObject({ kind: 'unknown', providerCode: code });
    expect(error.message).toContain('may have been received');
  });

  it('finds the network code under wrappers (axios), the outermost known code first', () => {
    const reset = netError('ECONNRESET', 'socket hang up');
    const wrapped = Object.assign(new Error('Network Error'), { code: 'ERR_BAD_RESPONSE', cause: reset });
    expect(mapTwilioError(wrapped)).toMatchObject({ kind: 'unknown', providerCode: 'ECONNRESET' });
    const refused = Object.assign(new Error('x'), { cause: netError('ECONNREFUSED') });
    expect(mapTwilioError(refused)).toMatchObject({ kind: 'transient', providerCode: 'ECONNREFUSED' });
    const resetAfterRefused = Object.assign(netError('ECONNRESET'), { cause: netError('ECONNREFUSED') });
    expect(mapTwilioError(resetAfterRefused).kind).toBe('unknown');
  });

  it('treats an unknown outcome of a request that may be repeated (a read, a hang-up) as transient', () => {
    expect(mapTwilioError(netError('ECONNRESET'), { idempotent: true }).kind).toBe('transient');
    expect(mapTwilioError(restException(503), { idempotent: true }).kind).toBe('transient');
    expect(mapTwilioError(restException(400, 21211), { idempotent: true }).kind).toBe('permanent');
    expect(mapTwilioError(restException(401, 20003), { idempotent: true }).kind).toBe('fatal');
  });

  it('maps RFC 9457 errors (TwilioServiceException) by code and status', () => {
    const err = Object.assign(new Error('x'), {
      type: 'https://www.twilio.com/docs/errors/21211',
      title: 'Invalid To',
      detail: "The 'To' number +1 is not valid",
      status: 400,
      code: 21211,
    });
    const error = mapTwilioError(err);
    expect(error).toMatchObject({ kind: 'permanent', providerCode: '21211' });
    expect(error.message).toContain("The 'To' number");
  });

  it('keeps the cause and passes a DialError through unchanged', () => {
    const original = restException(400, 21211);
    expect(mapTwilioError(original).cause).toBe(original);
    const dialError = new DialError('fatal', 'already mapped');
    expect(mapTwilioError(dialError)).toBe(dialError);
  });

  it('treats something that is neither an HTTP answer nor a known network error as unknown', () => {
    expect(mapTwilioError(new Error('weird')).kind).toBe('unknown');
    expect(mapTwilioError('a string').kind).toBe('unknown');
    expect(mapTwilioError(undefined).kind).toBe('unknown');
  });
});
