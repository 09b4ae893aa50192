import twilio from 'twilio';
import { ValidationError, type ValidationIssue } from '../../errors.js';
import type { Dialer, DialRequest, DialResult, FindCallResult } from '../dialer.js';
import { callStatusOfTwilio } from './twilio-call-status.js';
import { callbackUrlProblem, statusCallbackUrlFor } from './twilio-callback-url.js';
import type {
  TwilioCallRecord,
  TwilioClientLike,
  TwilioCreateCallExtras,
  TwilioCreateCallParams,
} from './twilio-client.js';
import { mapTwilioError } from './twilio-errors.js';
import {
  parseTwilioStatusCallback,
  type TwilioCallEvent,
  type TwilioWebhookInput,
} from './twilio-webhook.js';

/** Options of {@link TwilioDialer}. Give exactly one of `url` and `twiml`. */
export interface TwilioDialerOptions {
  /** A client made by the twilio package (`twilio(accountSid, authToken, opts)`); built from `accountSid` + `authToken` when absent. */
  client?: TwilioClientLike;
  /** Account SID (`AC...`), used to build the client when `client` is absent. */
  accountSid?: string;
  /**
   * The account's auth token: builds the client when `client` is absent, and checks every webhook
   * signature. Required (typed optional so `process.env.TWILIO_AUTH_TOKEN` fits; checked at runtime).
   */
  authToken?: string;
  /** Default caller id; a lead's or run's `from` wins. */
  from: string;
  /** The host's public status callback route, as Twilio will call it (`https://api.example.com/twilio/status`). */
  statusCallbackUrl: string;
  /** URL of the TwiML Twilio runs when the call connects. */
  url?: string;
  /** TwiML Twilio runs when the call connects (`<Response><Say>Hi</Say></Response>`). */
  twiml?: string;
  /** Answering machine detection; its verdict arrives as `answeredBy` on the events. */
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  /** Seconds to let the phone ring before the call ends `no-answer` (1 to 600; Twilio's default is 60). */
  timeoutSec?: number;
  /** Other `calls.create` parameters, passed through (`record`, `asyncAmd`, `timeLimit`, ...). */
  createOptions?: TwilioCreateCallExtras;
  /**
   * Public origin of the host (`https://api.example.com`, plus any path prefix a proxy strips) when
   * a proxy sits in front of it: webhook URLs as received are read with this origin.
   */
  publicUrl?: string;
  /**
   * How far Twilio's clock may lag this host's, in ms, when {@link TwilioDialer.findCall} compares
   * a call's creation time (whole seconds) with the start of the dial (default 5,000; 0 to 600,000).
   */
  clockSkewMs?: number;
}

/** Parameters the dialer owns: passing them in `createOptions` would break call tracking. */
const RESERVED_CREATE_OPTIONS = [
  'to',
  'from',
  'url',
  'twiml',
  'applicationSid',
  'statusCallback',
  'statusCallbackEvent',
  'statusCallbackMethod',
];

/** Call progress events requested: every step the queue tracks (`answered` arrives as `in-progress`). */
const STATUS_CALLBACK_EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

/** Default of {@link TwilioDialerOptions.clockSkewMs}. */
const DEFAULT_CLOCK_SKEW_MS = 5_000;

/**
 * Most calls read per Calls list query of `findCall` (one page). Far more calls than one dial
 * can have placed: a page full of candidates is reported ambiguous, never trusted.
 */
const FIND_CALL_LIMIT = 50;

/** Twilio's codes for "that call is not there to hang up": already ended, or unknown. */
const HANGUP_DONE_CODES = new Set([21220, 20404]);

/**
 * Places calls through Twilio's Calls API. Each call's status callback URL carries the job id and
 * lock token, so the host's webhook route can hand Twilio's events to `queue.handleCallEvent`
 * (see {@link createTwilioWebhookHandler}); {@link TwilioDialer.parseWebhook} rejects any callback
 * whose `X-Twilio-Signature` is missing or wrong. Twilio's errors become `DialError`s (from `outbound-queue`):
 * invalid or blocked numbers fail the job for good, rate limits and unreachable hosts are retried
 * later, bad credentials pause the run, and a create whose answer was lost (reset, timeout, 5xx)
 * is `unknown`: {@link TwilioDialer.findCall} then looks for the call it may have placed.
 *
 * @example
 * ```ts
 * import { OutboundQueue } from 'outbound-queue';
 * import { TwilioDialer, createTwilioWebhookHandler } from 'outbound-queue/twilio';
 *
 * const dialer = new TwilioDialer({
 *   accountSid: process.env.TWILIO_ACCOUNT_SID,
 *   authToken: process.env.TWILIO_AUTH_TOKEN,
 *   from: '+14155550100',
 *   url: 'https://api.example.com/twilio/voice',
 *   statusCallbackUrl: 'https://api.example.com/twilio/status',
 * });
 * const queue = new OutboundQueue({ store, limiter, dialer });
 * app.post('/twilio/status', (c) => createTwilioWebhookHandler({ dialer, queue })(c.req.raw));
 * ```
 */
export class TwilioDialer implements Dialer {
  private readonly client: TwilioClientLike;
  private readonly options: TwilioDialerOptions;
  private readonly authToken: string;

  /**
   * @param options - credentials or client, caller id, TwiML, status callback route
   * @throws `ValidationError` naming every option that is missing or malformed
   */
  constructor(options: TwilioDialerOptions) {
    const issues = optionProblems(options);
    if (issues.length > 0) throw new ValidationError(issues);
    this.options = { ...options };
    this.authToken = options.authToken as string;
    this.client = options.client ?? twilio(options.accountSid, options.authToken);
  }

  /**
   * Places the call with `calls.create`, asking for `initiated`, `ringing`, `answered` and
   * `completed` callbacks on the status callback route.
   * @param req - the job to dial
   * @returns the call's SID as `callId`
   * @throws `DialError` mapped by {@link mapTwilioError}
   */
  async dial(req: DialRequest): Promise<DialResult> {
    const { options } = this;
    const params: TwilioCreateCallParams = {
      ...options.createOptions,
      to: req.to,
      from: req.from ?? options.from,
      statusCallback: this.callbackUrlFor(req.jobId, req.lockToken),
      statusCallbackEvent: [...STATUS_CALLBACK_EVENTS],
      statusCallbackMethod: 'POST',
    };
    if (options.url !== undefined) params.url = options.url;
    else params.twiml = options.twiml;
    if (options.machineDetection !== undefined) params.machineDetection = options.machineDetection;
    if (options.timeoutSec !== undefined) params.timeout = options.timeoutSec;
    try {
      const call = await this.client.calls.create(params);
      return { callId: call.sid };
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /**
   * Hangs up a call (`Status=completed`). A call that already ended, or that Twilio does not know,
   * counts as hung up.
   * @param callId - the call's SID
   * @throws `DialError` when Twilio could not be asked
   */
  async hangup(callId: string): Promise<void> {
    try {
      await this.client.calls(callId).update({ status: 'completed' });
    } catch (err) {
      const error = this.mapError(err, { idempotent: true });
      if (HANGUP_DONE_CODES.has(Number(error.providerCode)) || error.providerCode === 'HTTP_404') return;
      throw error;
    }
  }

  /**
   * Reads a call from the Calls API, for calls whose status callbacks were lost.
   * Twilio's Call resource does not carry an error code, so a `failed` call read here has none.
   * @param callId - the call's SID
   * @returns the call's state as an event with an empty `jobId` (Twilio does not know the job), or
   *   undefined when Twilio does not know the call
   * @throws `DialError` when Twilio could not be asked
   */
  async fetchCall(callId: string): Promise<TwilioCallEvent | undefined> {
    let call: TwilioCallRecord;
    try {
      call = await this.client.calls(callId).fetch();
    } catch (err) {
      const error = this.mapError(err, { idempotent: true });
      if (error.providerCode === '20404' || error.providerCode === 'HTTP_404') return undefined;
      throw error;
    }
    return eventOfCall(call, callId);
  }

  /**
   * Looks for the call a `dial()` whose outcome is unknown may have placed (its create request was
   * sent, its answer lost). Twilio's Call resource does not show the status callback URL, so the
   * job and token cannot be matched: a call matches when it was placed with `calls.create`
   * (`outbound-api`) to the same `to` from the same caller id, and created at or after `since`
   * less `clockSkewMs`. Two Calls list queries find it: calls started since midnight UTC of that
   * instant, and calls still `queued` (Twilio has not started them: they have no start time yet).
   *
   * Several matches are reported `ambiguous`, never guessed at: adopting another job's call would
   * give this job a call whose events carry the other job's token, and calling none of them ours
   * would free a slot a live call of this job may hold. A call canceled or failed while still
   * queued has no start time and is not found; no call is live then.
   * @param req - the request given to the `dial()` whose outcome is unknown
   * @param since - when that dial started (epoch ms, this host's clock)
   * @returns `found` with the call's state, `none`, or `ambiguous` with every candidate's state
   * @throws `DialError` (transient or fatal) when Twilio could not be asked
   */
  async findCall(req: DialRequest, since: number): Promise<FindCallResult> {
    const to = req.to;
    const from = req.from ?? this.options.from;
    // Twilio's dates have whole seconds: a call created in the same second as `earliest` counts.
    const earliest = Math.floor((since - this.clockSkewMs) / 1000) * 1000;
    const midnight = new Date(earliest);
    midnight.setUTCHours(0, 0, 0, 0);
    const page = { limit: FIND_CALL_LIMIT, pageSize: FIND_CALL_LIMIT };
    let lists: TwilioCallRecord[][];
    try {
      lists = await Promise.all([
        this.client.calls.list({ to, from, startTimeAfter: midnight, ...page }),
        this.client.calls.list({ to, from, status: 'queued', ...page }),
      ]);
    } catch (err) {
      throw this.mapError(err, { idempotent: true });
    }
    // Both lists are newest first: a full page holds FIND_CALL_LIMIT candidates (ambiguous
    // anyway) or ends with calls older than `earliest` (none left out).
    const matches = new Map<string, TwilioCallRecord>();
    for (const list of lists) {
      for (const call of list) if (isCandidate(call, to, from, earliest)) matches.set(call.sid, call);
    }
    const calls = [...matches.values()].map((call) => eventOfCall(call, call.sid));
    if (calls.length === 1) return { match: 'found', call: calls[0]! };
    if (calls.length === 0) return { match: 'none' };
    return { match: 'ambiguous', calls };
  }

  /**
   * Checks a status callback's `X-Twilio-Signature` and turns it into a call event for
   * `queue.handleCallEvent`. The signature is accepted when Twilio made it over the URL as
   * received, over that URL moved to `publicUrl`, or over the exact callback URL this dialer gave
   * Twilio for the job, so a proxy that rewrites the host or scheme needs no setting.
   * @param input - the request's full URL, its parsed form body and its `X-Twilio-Signature` header
   * @returns the event: `jobId` and `lockToken` from the URL's query, `callId`, `status`,
   *   `durationSec`, `errorCode`, `errorMessage`, `answeredBy` and `at` from the body
   * @throws `WebhookSignatureError` when the signature is missing or wrong (answer 403)
   * @throws `ValidationError` when a signed body has no known `CallStatus` or the URL no job id (answer 400)
   */
  parseWebhook(input: TwilioWebhookInput): TwilioCallEvent {
    return parseTwilioStatusCallback(input, {
      authToken: this.authToken,
      publicUrl: this.options.publicUrl,
      callbackUrlFor: (jobId, lockToken) => this.callbackUrlFor(jobId, lockToken),
    });
  }

  private callbackUrlFor(jobId: string, lockToken: string): string {
    return statusCallbackUrlFor(this.options.statusCallbackUrl, jobId, lockToken);
  }

  private mapError(err: unknown, hints: { idempotent?: boolean } = {}) {
    // RestException does not keep the response headers; the HTTP client's last response does.
    // Under concurrent requests it may belong to another request, so it is used only when its
    // status matches, and only as a hint for how long to wait.
    const last = this.client.httpClient?.lastResponse;
    const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
    const headers = last && last.statusCode === status ? last.headers : undefined;
    return mapTwilioError(err, { headers, idempotent: hints.idempotent });
  }

  private get clockSkewMs(): number {
    return this.options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  }
}

/** Whether a listed call may be the one a create to `to` from `from`, sent at `earliest` or later, placed. */
function isCandidate(call: TwilioCallRecord, to: string, from: string, earliest: number): boolean {
  if (call.direction != null && call.direction !== 'outbound-api') return false;
  if (call.to != null && call.to !== to) return false;
  if (call.from != null && call.from !== from) return false;
  const created = call.dateCreated instanceof Date ? call.dateCreated.getTime() : Number.NaN;
  // A call without a readable creation time cannot be ruled out.
  return Number.isNaN(created) || created >= earliest;
}

/** A Call resource as a call event with an empty `jobId` (Twilio does not know the job). */
function eventOfCall(call: TwilioCallRecord, callId: string): TwilioCallEvent & { callId: string } {
  const status = callStatusOfTwilio(call.status);
  if (status === undefined) {
    throw mapTwilioError(new Error(`Twilio reported an unknown call status "${call.status}" for ${callId}`), {
      idempotent: true,
    });
  }
  const event: TwilioCallEvent & { callId: string } = { jobId: '', callId: call.sid ?? callId, status };
  const duration = Number.parseInt(call.duration ?? '', 10);
  if (Number.isFinite(duration)) event.durationSec = duration;
  if (call.answeredBy) event.answeredBy = call.answeredBy;
  if (call.dateUpdated instanceof Date && !Number.isNaN(call.dateUpdated.getTime())) {
    event.at = call.dateUpdated;
  }
  return event;
}

function optionProblems(options: TwilioDialerOptions): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ field, message });
  if (typeof options !== 'object' || options === null) {
    bad('options', 'TwilioDialer needs an options object');
    return issues;
  }
  if (!nonEmpty(options.authToken)) {
    bad('authToken', 'is required: it checks the X-Twilio-Signature of every status callback');
  }
  if (options.client === undefined && !nonEmpty(options.accountSid)) {
    bad('accountSid', 'is required when no client is given');
  }
  if (!nonEmpty(options.from)) bad('from', 'is required (the default caller id)');
  if (!nonEmpty(options.statusCallbackUrl)) {
    bad('statusCallbackUrl', 'is required: the public URL of the host status callback route');
  } else {
    const problem = callbackUrlProblem(options.statusCallbackUrl);
    if (problem) bad('statusCallbackUrl', problem);
  }
  const hasUrl = options.url !== undefined;
  const hasTwiml = options.twiml !== undefined;
  if (hasUrl === hasTwiml) {
    bad('url', 'give exactly one of url (TwiML URL) and twiml (inline TwiML)');
  } else if (hasUrl && !nonEmpty(options.url)) bad('url', 'must be a non-empty URL');
  else if (hasTwiml && !nonEmpty(options.twiml)) bad('twiml', 'must be non-empty TwiML');
  if (
    options.timeoutSec !== undefined &&
    !(Number.isInteger(options.timeoutSec) && options.timeoutSec >= 1 && options.timeoutSec <= 600)
  ) {
    bad('timeoutSec', 'must be a whole number of seconds from 1 to 600');
  }
  if (
    options.machineDetection !== undefined &&
    options.machineDetection !== 'Enable' &&
    options.machineDetection !== 'DetectMessageEnd'
  ) {
    bad('machineDetection', "must be 'Enable' or 'DetectMessageEnd'");
  }
  if (
    options.clockSkewMs !== undefined &&
    !(Number.isFinite(options.clockSkewMs) && options.clockSkewMs >= 0 && options.clockSkewMs <= 600_000)
  ) {
    bad('clockSkewMs', 'must be a number of milliseconds from 0 to 600000');
  }
  if (options.publicUrl !== undefined) {
    const problem = callbackUrlProblem(options.publicUrl);
    if (problem) bad('publicUrl', problem);
  }
  for (const name of RESERVED_CREATE_OPTIONS) {
    if (options.createOptions && Object.hasOwn(options.createOptions, name)) {
      bad(`createOptions.${name}`, 'is set by the dialer; use the dialer option instead');
    }
  }
  return issues;
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}
