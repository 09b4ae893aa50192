/**
 * A Dialer adapter for the imaginary "Voice API" (see fake-voice-api.ts). It shows what every
 * adapter has to do: place the call and return its id, put the job id and lock token in the
 * status callback, map the provider's errors to DialError kinds, map its status names to call
 * statuses, check the callback's signature, and answer fetchCall for recovery.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type CallEvent,
  type CallStatus,
  DialError,
  type Dialer,
  type DialRequest,
  type DialResult,
  WebhookSignatureError,
} from 'outbound-queue';

export interface VoiceApiDialerOptions {
  baseUrl: string;
  apiKey: string;
  /** Where the provider posts call progress; the job id and lock token are added to it. */
  statusCallbackUrl: string;
  /** Secret the provider signs its callbacks with. */
  webhookSecret: string;
  /** Give up on one HTTP request after this long (default 10 s): the job holds a slot meanwhile. */
  timeoutMs?: number;
}

const STATUS: Record<string, CallStatus> = {
  queued: 'initiated',
  ringing: 'ringing',
  answered: 'in-progress',
  completed: 'completed',
  busy: 'busy',
  no_answer: 'no-answer',
  failed: 'failed',
  canceled: 'canceled',
};

/** Errors that mean the request never reached the provider: no call can exist. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

export class VoiceApiDialer implements Dialer {
  constructor(private readonly options: VoiceApiDialerOptions) {}

  async dial(req: DialRequest): Promise<DialResult> {
    const callback = new URL(this.options.statusCallbackUrl);
    callback.searchParams.set('job', req.jobId);
    callback.searchParams.set('token', req.lockToken);
    const body = JSON.stringify({ to: req.to, from: req.from, status_callback: callback.href });
    // The lock token is fresh for each attempt: as the idempotency key it makes our own re-sends
    // of this request safe (the provider returns the call it already made), while a retry the
    // queue schedules later is a new attempt with a new key.
    let lastError: unknown;
    for (let send = 1; send <= 3; send++) {
      let res: Response;
      try {
        res = await this.request('POST', '/v1/calls', body, { 'idempotency-key': req.lockToken });
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code && NOT_SENT.has(code)) {
          throw new DialError('transient', `Voice API unreachable (${code})`, { cause: err });
        }
        lastError = err;
        continue; // the request may have arrived: re-send with the same key to find out
      }
      if (res.ok) return { callId: ((await res.json()) as { id: string }).id };
      throw await this.dialError(res);
    }
    // We sent a request and never learned what became of it. A call may exist: do not let the
    // queue retry it as a new attempt. The job ends failed instead of risking a second call.
    throw new DialError('permanent', 'Voice API did not answer; the call may or may not exist', {
      providerCode: 'DIAL_OUTCOME_UNKNOWN',
      cause: lastError,
    });
  }

  async hangup(callId: string): Promise<void> {
    const res = await this.request('POST', `/v1/calls/${encodeURIComponent(callId)}/hangup`);
    if (!res.ok && res.status !== 404) throw new Error(`Voice API hangup answered ${res.status}`);
  }

  async fetchCall(callId: string): Promise<CallEvent | undefined> {
    const res = await this.request('GET', `/v1/calls/${encodeURIComponent(callId)}`);
    if (res.status === 404) return undefined; // the provider does not know it: the job fails
    if (!res.ok) throw new Error(`Voice API answered ${res.status}`); // ask again later
    const call = (await res.json()) as { id: string; status: string };
    const status = STATUS[call.status];
    if (!status) throw new Error(`Voice API sent an unknown status ${call.status}`);
    return { jobId: '', callId: call.id, status };
  }

  /**
   * Turns a status callback into a CallEvent for `queue.handleCallEvent`.
   * @param pathAndQuery - the request's path and query string, exactly as received
   * @param body - the raw request body
   * @param signature - the `X-Voice-Signature` header
   * @throws WebhookSignatureError unless the signature is valid
   */
  parseWebhook(pathAndQuery: string, body: string, signature: string | undefined): CallEvent {
    const expected = createHmac('sha256', this.options.webhookSecret)
      .update(`${pathAndQuery}\n${body}`)
      .digest();
    const given = Buffer.from(signature ?? '', 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new WebhookSignatureError();
    }
    const query = new URL(pathAndQuery, 'http://callback').searchParams;
    const payload = JSON.parse(body) as { call_id?: string; status?: string; duration?: number };
    return {
      jobId: query.get('job') ?? '',
      lockToken: query.get('token') ?? undefined,
      callId: payload.call_id,
      // An unknown status is passed on as is: handleCallEvent rejects it with a ValidationError.
      status: (STATUS[payload.status ?? ''] ?? payload.status) as CallStatus,
      durationSec: payload.duration,
    };
  }

  private async dialError(res: Response): Promise<DialError> {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    const providerCode = body.error?.code ?? `HTTP_${res.status}`;
    const message = body.error?.message ?? `Voice API answered ${res.status}`;
    if (res.status === 401 || res.status === 403) return new DialError('fatal', message, { providerCode });
    if (res.status === 429) {
      const retryAfterMs = Number(res.headers.get('retry-after') ?? '1') * 1000;
      return new DialError('transient', message, { providerCode, retryAfterMs });
    }
    // A 5xx from this provider means it did not create the call (its documentation says so).
    if (res.status >= 500) return new DialError('transient', message, { providerCode });
    return new DialError('permanent', message, { providerCode });
  }

  private request(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    return fetch(new URL(path, this.options.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${this.options.apiKey}`,
        'content-type': 'application/json',
        ...headers,
      },
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
  }
}
