/**
 * A stand-in for an imaginary HTTP telephony provider ("Voice API"), so the example runs offline.
 * It does what real providers do to an adapter: answers with its own status names, rate-limits
 * call creation (429 + Retry-After), has a bad moment now and then (503), rejects bad numbers,
 * honours an Idempotency-Key header, and posts signed status callbacks while the call runs.
 * Its rules: a number ending in 99 is not in service, one ending in 7 is busy, and the first
 * request for a number ending in 05 gets a 503.
 *
 *   POST /v1/calls             { to, from?, status_callback }  -> 201 { id, status }
 *   GET  /v1/calls/:id          -> 200 { id, status } | 404
 *   POST /v1/calls/:id/hangup   -> 204
 *
 * Callbacks: POST status_callback with JSON { call_id, status, duration? } and the header
 * `X-Voice-Signature: hex(HMAC-SHA256(secret, path_and_query + "\n" + body))`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Status names as this provider spells them (not Twilio's). */
export type VoiceApiStatus =
  | 'queued'
  | 'ringing'
  | 'answered'
  | 'completed'
  | 'busy'
  | 'no_answer'
  | 'canceled';

interface FakeCall {
  id: string;
  status: VoiceApiStatus;
  callback: string;
  timers: NodeJS.Timeout[];
  answeredAt?: number;
}

export interface FakeVoiceApi {
  url: string;
  close(): Promise<void>;
}

/** Signs a callback the way the provider documents it. */
export function signCallback(secret: string, pathAndQuery: string, body: string): string {
  return createHmac('sha256', secret).update(`${pathAndQuery}\n${body}`).digest('hex');
}

/**
 * Starts the fake provider on a free local port.
 * @param options - the API key it accepts, the callback secret, and its rate limit
 */
export async function startFakeVoiceApi(options: {
  apiKey: string;
  webhookSecret: string;
  createsPerSecond: number;
}): Promise<FakeVoiceApi> {
  const calls = new Map<string, FakeCall>();
  const byIdempotencyKey = new Map<string, string>();
  const seen = new Set<string>();
  let window = { start: 0, count: 0 };

  const send = (
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const notify = (call: FakeCall, status: VoiceApiStatus) => {
    call.status = status;
    const duration = call.answeredAt ? Math.round((Date.now() - call.answeredAt) / 1000) : 0;
    const body = JSON.stringify({ call_id: call.id, status, duration });
    const url = new URL(call.callback);
    const signature = signCallback(options.webhookSecret, url.pathname + url.search, body);
    // Providers do not wait for each other's callbacks: fire and forget, like the real thing.
    void fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-voice-signature': signature },
      body,
    }).catch(() => {});
  };

  const end = (call: FakeCall, status: VoiceApiStatus) => {
    for (const timer of call.timers) clearTimeout(timer);
    notify(call, status);
  };

  const place = (to: string, callback: string): FakeCall => {
    const call: FakeCall = {
      id: `VC${randomBytes(8).toString('hex')}`,
      status: 'queued',
      callback,
      timers: [],
    };
    calls.set(call.id, call);
    const later = (ms: number, fn: () => void) => call.timers.push(setTimeout(fn, ms));
    const talkMs = 600 + Math.random() * 900;
    later(50, () => notify(call, 'ringing'));
    if (to.endsWith('7')) {
      later(300, () => end(call, 'busy'));
    } else {
      later(250, () => {
        call.answeredAt = Date.now();
        notify(call, 'answered');
      });
      later(250 + talkMs, () => end(call, 'completed'));
    }
    return call;
  };

  const createCall = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => {
    const key = req.headers['idempotency-key'];
    const known = typeof key === 'string' ? byIdempotencyKey.get(key) : undefined;
    if (known) return send(res, 200, { id: known, status: calls.get(known)?.status });
    const now = Date.now();
    if (now - window.start >= 1000) window = { start: now, count: 0 };
    if (window.count >= options.createsPerSecond) {
      const retryAfter = Math.max(1, Math.ceil((window.start + 1000 - now) / 1000));
      return send(res, 429, { error: { code: 'rate_limited' } }, { 'retry-after': String(retryAfter) });
    }
    const { to, status_callback: callback } = body;
    if (typeof to !== 'string' || typeof callback !== 'string') {
      return send(res, 400, {
        error: { code: 'bad_request', message: 'to and status_callback are required' },
      });
    }
    if (to.endsWith('05') && !seen.has(to)) {
      seen.add(to);
      return send(res, 503, { error: { code: 'temporarily_unavailable', message: 'try again' } });
    }
    if (to.endsWith('99')) {
      return send(res, 422, { error: { code: 'invalid_number', message: `${to} is not in service` } });
    }
    window.count += 1;
    const call = place(to, callback);
    if (typeof key === 'string') byIdempotencyKey.set(key, call.id);
    send(res, 201, { id: call.id, status: call.status });
  };

  const server = createServer(async (req, res) => {
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return send(res, 401, { error: { code: 'unauthorized' } });
    }
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const match = /^\/v1\/calls\/([^/]+)(\/hangup)?$/.exec(path);
    if (req.method === 'POST' && path === '/v1/calls') {
      return createCall(req, res, raw ? (JSON.parse(raw) as Record<string, unknown>) : {});
    }
    const call = match ? calls.get(match[1]!) : undefined;
    if (!call) return send(res, 404, { error: { code: 'not_found' } });
    if (req.method === 'GET' && !match?.[2]) return send(res, 200, { id: call.id, status: call.status });
    if (req.method === 'POST' && match?.[2]) {
      if (call.status === 'queued' || call.status === 'ringing') end(call, 'canceled');
      else if (call.status === 'answered') end(call, 'completed');
      return send(res, 204);
    }
    send(res, 405, { error: { code: 'method_not_allowed' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const call of calls.values()) for (const timer of call.timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
