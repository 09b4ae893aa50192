import { DialError, type DialFailureKind } from '../../errors.js';

/** One Twilio error code this library classifies explicitly, and why. */
interface KnownTwilioError {
  kind: DialFailureKind;
  reason: string;
}

/**
 * Twilio error codes with a fixed meaning for an outbound call. Codes not listed fall back to the
 * HTTP status: 401 fatal, 429 transient, 408 and 5xx unknown, any other 4xx permanent.
 * @internal
 */
export const TWILIO_ERROR_KINDS: Readonly<Record<number, KnownTwilioError>> = {
  // The lead itself cannot be called: retrying the same number can only fail again.
  13223: { kind: 'permanent', reason: 'the number is not in a valid format' },
  13224: { kind: 'permanent', reason: 'Twilio cannot call this number, or it does not exist' },
  13227: { kind: 'permanent', reason: 'no international authorization for this destination' },
  21201: { kind: 'permanent', reason: "no 'To' number was given" },
  21202: { kind: 'permanent', reason: "the 'To' number is a premium or special service number" },
  21203: { kind: 'permanent', reason: 'international calling is not enabled on the account' },
  21210: { kind: 'permanent', reason: "the 'From' number is not a verified caller id of the account" },
  21211: { kind: 'permanent', reason: "the 'To' number is not a valid phone number" },
  21212: { kind: 'permanent', reason: "the 'From' number is not a valid caller id" },
  21213: { kind: 'permanent', reason: "a 'From' caller id is required" },
  21214: { kind: 'permanent', reason: "the 'To' number cannot be reached" },
  21215: { kind: 'permanent', reason: 'geographic permissions do not allow calling this number' },
  21216: { kind: 'permanent', reason: 'Twilio blocks calls to this number (fraud risk or regulation)' },
  21217: { kind: 'permanent', reason: 'the phone number does not appear to be valid' },
  21219: { kind: 'permanent', reason: "a trial account may only call verified 'To' numbers" },
  21401: { kind: 'permanent', reason: 'the phone number is invalid' },
  21612: { kind: 'permanent', reason: "the 'To' number is not currently reachable" },
  32205: { kind: 'permanent', reason: 'geographic permission settings prohibit this call' },
  // Nothing can be dialed until a human fixes the account: pause the run instead of burning leads.
  20003: { kind: 'fatal', reason: 'authentication failed (wrong account SID or auth token)' },
  20005: { kind: 'fatal', reason: 'the account is not active (suspended or closed)' },
  20008: { kind: 'fatal', reason: 'test credentials cannot place real calls' },
  // Refused before anything was done: the same request may succeed later.
  20429: { kind: 'transient', reason: 'too many requests (rate or concurrency limit)' },
  // Twilio failed while handling the request. Its guidance calls 5xx retryable but never says a
  // create answered so left no call behind, and the Calls API takes no idempotency key: a call
  // may exist, so the queue must look for it rather than dial again.
  20500: { kind: 'unknown', reason: 'Twilio internal server error (a call may have been created)' },
  20503: { kind: 'unknown', reason: 'Twilio service unavailable (a call may have been created)' },
};

/**
 * Network errors of the connect phase (DNS, routing, TCP or TLS connect): no byte of the request
 * reached Twilio, so no call can exist and the request may be sent again.
 */
const NOT_SENT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Network errors on a connection that was open: the request may have been sent and acted on, its
 * answer lost (reset, timed out, closed). A call may exist.
 */
const MAYBE_SENT_ERROR_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_NETWORK',
]);

/** Extra facts about a failed request that the error object itself may not carry. */
export interface TwilioErrorHints {
  /** Response headers of the failed request (for `Retry-After`), when known. */
  headers?: unknown;
  /**
   * The request changes nothing when sent twice (a read, a hang-up): an outcome that is not known
   * is then only `transient`. Leave it unset for `calls.create`.
   */
  idempotent?: boolean;
}

/**
 * Maps an error thrown by the twilio client (a `RestException`, a `TwilioServiceException`, or a
 * network error from its HTTP client) to a {@link DialError} that tells the queue what to do.
 *
 * - permanent: the number cannot be called (invalid, unreachable, blocked, not permitted) and any
 *   other 4xx; the job ends `failed` with Twilio's code and is never retried.
 * - transient: nothing reached Twilio, or Twilio refused the request before acting on it: HTTP 429
 *   / code 20429, and connect-phase network errors (`ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`,
 *   `EHOSTUNREACH`, `ENETUNREACH`, `ENETDOWN`, `UND_ERR_CONNECT_TIMEOUT`,
 *   `ERR_SOCKET_CONNECTION_TIMEOUT`); the job is retried later, after the `Retry-After` delay when
 *   Twilio sent one.
 * - unknown: the create may have reached Twilio and a call may exist: HTTP 408, any 5xx (20500,
 *   20503 included), and errors on an open connection (`ECONNRESET`, `ETIMEDOUT`,
 *   `ESOCKETTIMEDOUT`, `EPIPE`, `ECONNABORTED`, `UND_ERR_SOCKET`, `ERR_NETWORK`); the queue looks
 *   for the call (`TwilioDialer.findCall`) instead of dialing again. With `hints.idempotent`
 *   these are transient.
 * - fatal: authentication failed (20003, HTTP 401) or the account is suspended (20005); the run is
 *   paused until a human fixes the account.
 *
 * Anything else (no HTTP status, no known network code) is `unknown` too: nothing proves the
 * request was not sent.
 *
 * @param err - whatever the twilio client threw
 * @param hints - response headers of the failed request, when the caller has them, and whether
 *   the request may be sent again
 * @returns the classified error; `providerCode` is Twilio's code (`'21211'`), `HTTP_<status>`, or the
 *   network error code (`'ECONNRESET'`); `cause` is `err`
 * @example
 * ```ts
 * try {
 *   await client.calls.create(params);
 * } catch (err) {
 *   throw mapTwilioError(err);
 * }
 * ```
 */
export function mapTwilioError(err: unknown, hints: TwilioErrorHints = {}): DialError {
  if (err instanceof DialError) return err;
  const fields = isObject(err) ? err : {};
  const status = numberOf(fields.status) ?? numberOf(fields.statusCode) ?? responseStatus(fields);
  const rawCode = fields.code;
  const twilioCode = numberOf(rawCode);
  const message = describe(err, fields, twilioCode);

  const network = networkError(err);
  if (twilioCode === undefined && status === undefined && network !== undefined) {
    const kind = settle(network.sent ? 'unknown' : 'transient', hints);
    const what = network.sent
      ? 'Twilio connection lost, the request may have been received'
      : 'Twilio unreachable';
    return new DialError(kind, `${what}: ${message}`, { providerCode: network.code, cause: err });
  }

  const known = twilioCode === undefined ? undefined : TWILIO_ERROR_KINDS[twilioCode];
  const kind = settle(known?.kind ?? kindOfStatus(status), hints);
  const providerCode =
    twilioCode !== undefined
      ? String(twilioCode)
      : status !== undefined
        ? `HTTP_${status}`
        : typeof rawCode === 'string' && rawCode !== ''
          ? rawCode
          : 'TWILIO_ERROR';
  const retryAfterMs =
    kind === 'transient' || kind === 'unknown'
      ? (retryAfter(hints.headers) ?? retryAfter(fields.headers) ?? retryAfter(responseHeaders(fields)))
      : undefined;
  return new DialError(kind, message, { providerCode, retryAfterMs, cause: err });
}

/** A request that may be sent again has no outcome to lose: retrying it is safe. */
function settle(kind: DialFailureKind, hints: TwilioErrorHints): DialFailureKind {
  return kind === 'unknown' && hints.idempotent ? 'transient' : kind;
}

/** How an HTTP status without a known Twilio code is treated. */
function kindOfStatus(status: number | undefined): DialFailureKind {
  // Not an HTTP answer and no known network code: nothing proves the request was not sent.
  if (status === undefined) return 'unknown';
  if (status === 401) return 'fatal';
  if (status === 429) return 'transient';
  // 408: the server gave up on a request it had begun to receive; 5xx: it failed while handling it.
  if (status === 408 || status >= 500) return 'unknown';
  if (status >= 400) return 'permanent';
  return 'unknown';
}

function describe(err: unknown, fields: Record<string, unknown>, code: number | undefined): string {
  const text =
    stringOf(fields.detail) ??
    stringOf(fields.message) ??
    stringOf(fields.title) ??
    (err instanceof Error ? err.message : String(err));
  return code === undefined ? text : `Twilio error ${code}: ${text}`;
}

/**
 * The network error code of `err` or of one of its causes (axios wraps socket errors), and
 * whether the request may have been sent. The outermost known code wins: a wrapper that says
 * "reset after sending" outranks a connect error it may have retried past.
 */
function networkError(err: unknown): { code: string; sent: boolean } | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && isObject(current); depth++) {
    const code = current.code;
    if (typeof code === 'string') {
      if (MAYBE_SENT_ERROR_CODES.has(code)) return { code, sent: true };
      if (NOT_SENT_ERROR_CODES.has(code)) return { code, sent: false };
    }
    current = current.cause;
  }
  return undefined;
}

function responseStatus(fields: Record<string, unknown>): number | undefined {
  const response = fields.response;
  return isObject(response) ? (numberOf(response.status) ?? numberOf(response.statusCode)) : undefined;
}

function responseHeaders(fields: Record<string, unknown>): unknown {
  const response = fields.response;
  return isObject(response) ? response.headers : undefined;
}

/**
 * The `Retry-After` header in milliseconds: delta-seconds or an HTTP date.
 * @internal
 */
export function retryAfter(headers: unknown): number | undefined {
  let value: unknown;
  if (headers instanceof Headers) value = headers.get('retry-after');
  else if (isObject(headers)) {
    const get = headers.get;
    value =
      typeof get === 'function'
        ? get.call(headers, 'retry-after')
        : (headers['retry-after'] ?? headers['Retry-After']);
  }
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'number') return value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
