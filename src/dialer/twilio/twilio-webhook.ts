import twilio from 'twilio';
import { ValidationError, WebhookSignatureError } from '../../errors.js';
import { type Logger, silentLogger } from '../../logger.js';
import type { CallEvent } from '../../types.js';
import { callStatusOfTwilio } from './twilio-call-status.js';
import { callbackIdentity, withPublicOrigin } from './twilio-callback-url.js';

/** Form parameters of a Twilio webhook: one value per name, or several for a repeated name. */
export type TwilioWebhookParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One status callback request as the host's route received it. */
export interface TwilioWebhookInput {
  /**
   * The full URL the request arrived at, query string included (`https://host/route?jobId=..`).
   * Behind a proxy, give either the public URL or set the dialer's `publicUrl`.
   */
  url: string;
  /** The form-encoded body, parsed (`express.urlencoded()`, `@fastify/formbody`, `URLSearchParams`). */
  params: TwilioWebhookParams;
  /** The `X-Twilio-Signature` header; missing means forged. */
  signature: string | null | undefined;
}

/** A {@link CallEvent} from a Twilio status callback, with what Twilio adds to it. */
export interface TwilioCallEvent extends CallEvent {
  /** Twilio's `SequenceNumber` of the callback, for ordering; the queue does not need it. */
  sequenceNumber?: number;
}

/** What {@link parseTwilioStatusCallback} needs to know about the dialer. */
export interface StatusCallbackVerifier {
  /** The account's auth token, the HMAC key of `X-Twilio-Signature`. */
  authToken: string;
  /** Public origin of the host when it is behind a proxy. */
  publicUrl?: string;
  /** The callback URL the dialer gave Twilio for a job, to check a signature made over it. */
  callbackUrlFor(jobId: string, lockToken: string): string;
}

/**
 * Validates a status callback's signature and turns it into a call event.
 * The signature is checked against the URL as received, the same URL moved to `publicUrl`, and
 * the URL the dialer itself gave Twilio for this job: a proxy in front of the host changes the
 * first but never the last.
 * @internal
 */
export function parseTwilioStatusCallback(
  input: TwilioWebhookInput,
  verifier: StatusCallbackVerifier,
): TwilioCallEvent {
  const { url, params, signature } = input ?? ({} as Partial<TwilioWebhookInput>);
  if (typeof signature !== 'string' || signature === '') {
    throw new WebhookSignatureError('Missing X-Twilio-Signature header');
  }
  if (typeof url !== 'string' || typeof params !== 'object' || params === null) {
    throw new WebhookSignatureError('Webhook URL or parameters missing: cannot check the signature');
  }
  const { jobId, lockToken } = callbackIdentity(url);
  const candidates = new Set<string>([url]);
  if (verifier.publicUrl !== undefined) {
    const moved = withPublicOrigin(url, verifier.publicUrl);
    if (moved !== undefined) candidates.add(moved);
  }
  if (jobId !== undefined && lockToken !== undefined)
    candidates.add(verifier.callbackUrlFor(jobId, lockToken));
  const valid = [...candidates].some((candidate) =>
    signedBy(verifier.authToken, signature, candidate, params),
  );
  if (!valid) throw new WebhookSignatureError('Invalid X-Twilio-Signature');
  return eventOf(params, jobId, lockToken);
}

function signedBy(authToken: string, signature: string, url: string, params: TwilioWebhookParams): boolean {
  try {
    return twilio.validateRequest(authToken, signature, url, withoutUndefined(params));
  } catch {
    return false; // the SDK throws on a URL it cannot parse: such a request was not signed by Twilio
  }
}

function withoutUndefined(params: TwilioWebhookParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = [...value];
  }
  return out;
}

function eventOf(
  params: TwilioWebhookParams,
  jobId: string | undefined,
  lockToken: string | undefined,
): TwilioCallEvent {
  const issues: { field: string; message: string }[] = [];
  const rawStatus = one(params.CallStatus);
  const status = callStatusOfTwilio(rawStatus);
  if (status === undefined) {
    issues.push({ field: 'CallStatus', message: `unknown call status ${JSON.stringify(rawStatus ?? null)}` });
  }
  if (jobId === undefined || jobId === '') {
    issues.push({ field: 'jobId', message: 'the callback URL carries no jobId query parameter' });
  }
  if (issues.length > 0 || status === undefined || jobId === undefined) throw new ValidationError(issues);

  const event: TwilioCallEvent = { jobId, status };
  if (lockToken !== undefined && lockToken !== '') event.lockToken = lockToken;
  const callId = one(params.CallSid);
  if (callId) event.callId = callId;
  const duration = integer(one(params.CallDuration));
  if (duration !== undefined) event.durationSec = duration;
  const errorCode = one(params.ErrorCode);
  if (errorCode) event.errorCode = errorCode;
  const errorMessage = one(params.ErrorMessage);
  if (errorMessage) event.errorMessage = errorMessage;
  const answeredBy = one(params.AnsweredBy);
  if (answeredBy) event.answeredBy = answeredBy;
  const sequence = integer(one(params.SequenceNumber));
  if (sequence !== undefined) event.sequenceNumber = sequence;
  const timestamp = one(params.Timestamp);
  const at = timestamp ? new Date(timestamp) : undefined;
  if (at && !Number.isNaN(at.getTime())) event.at = at;
  return event;
}

function one(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** Options of {@link createTwilioWebhookHandler}. */
export interface TwilioWebhookHandlerOptions {
  /** Parses and validates the callbacks: the `TwilioDialer` that placed the calls. */
  dialer: {
    /**
     * Checks the signature and parses the callback (see `TwilioDialer.parseWebhook`).
     * @param input - the request's URL, form parameters and signature header
     * @returns the call event
     */
    parseWebhook(input: TwilioWebhookInput): CallEvent;
  };
  /** Where events go: the `OutboundQueue` (or anything with its `handleCallEvent`). */
  queue: {
    /**
     * Applies the event (see `OutboundQueue.handleCallEvent`).
     * @param event - the parsed call event
     */
    handleCallEvent(event: CallEvent): Promise<unknown>;
  };
  /**
   * Public origin of this route when a proxy sits in front of the host (`https://api.example.com`,
   * plus any path prefix the proxy strips): the request's own URL is then read with this origin.
   */
  publicUrl?: string;
  /** Where unexpected failures are logged (default: silent). */
  logger?: Logger;
}

/**
 * A web-standard (`Request` in, `Response` out) route handler for Twilio status callbacks: reads
 * the form body, checks `X-Twilio-Signature`, and hands the event to `queue.handleCallEvent`.
 * Answers 204 when the event was taken (also for duplicates and stale events, which change
 * nothing), 403 for a missing or wrong signature, 400 for a malformed body, 405 for a method other
 * than POST, 413 for a body over 64 KiB, and 500 when the queue could not store the event (Twilio may then retry).
 * Mount it directly in Hono, Next.js route handlers, Bun or Deno; Express and Fastify need a
 * three-line adapter (see docs/twilio.md).
 * @param options - the dialer, the queue and the public URL
 * @returns the handler
 * @example
 * ```ts
 * const handler = createTwilioWebhookHandler({ dialer, queue });
 * app.post('/twilio/status', (c) => handler(c.req.raw)); // Hono
 * ```
 */
export function createTwilioWebhookHandler(
  options: TwilioWebhookHandlerOptions,
): (request: Request) => Promise<Response> {
  const logger = options.logger ?? silentLogger;
  return async (request) => {
    if (request.method !== 'POST') {
      return new Response(null, { status: 405, headers: { allow: 'POST' } });
    }
    // Twilio's callbacks are a few hundred bytes; do not buffer whatever a stranger sends.
    if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) {
      return new Response(null, { status: 413 });
    }
    let params: Record<string, string | string[]>;
    try {
      params = formParams(request.headers.get('content-type'), await request.text());
    } catch (err) {
      return new Response(err instanceof Error ? err.message : 'Malformed body', { status: 400 });
    }
    const url =
      options.publicUrl === undefined
        ? request.url
        : (withPublicOrigin(request.url, options.publicUrl) ?? request.url);
    let event: CallEvent;
    try {
      event = options.dialer.parseWebhook({
        url,
        params,
        signature: request.headers.get('x-twilio-signature'),
      });
    } catch (err) {
      if (err instanceof WebhookSignatureError) return new Response(null, { status: 403 });
      if (err instanceof ValidationError) return new Response(err.message, { status: 400 });
      throw err;
    }
    try {
      await options.queue.handleCallEvent(event);
    } catch (err) {
      if (err instanceof ValidationError) return new Response(err.message, { status: 400 });
      logger.error({ err, job_id: event.jobId, call_id: event.callId }, 'OUTBOUND_WEBHOOK_FAILED');
      return new Response(null, { status: 500 });
    }
    return new Response(null, { status: 204 });
  };
}

const MAX_BODY_BYTES = 64 * 1024;

function formParams(contentType: string | null, body: string): Record<string, string | string[]> {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new Error('Expected an application/x-www-form-urlencoded body');
  }
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const seen = params[name];
    if (seen === undefined) params[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else params[name] = [seen, value];
  }
  return params;
}
