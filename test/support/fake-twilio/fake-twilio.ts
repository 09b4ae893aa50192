import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CallbackDelivery,
  type CallScript,
  CallSimulation,
  type FakeCallOutcome,
} from './call-simulation.js';
import { postSignedForm } from './signing.js';
import {
  callJson,
  errorBody,
  type FakeCallRecord,
  type FakeCallStatus,
  type FakeTwilioError,
  newSid,
  rfc2822,
} from './twilio-resources.js';

/**
 * A create request that goes wrong on the way back, so that its outcome is unknown to the client:
 * - `reset-after-create`: the call is placed (and runs, with its callbacks), then the connection
 *   is dropped without an answer: the client sees `ECONNRESET` ("socket hang up");
 * - `500-after-create`: the call is placed, then the answer is HTTP 500 with code 20500;
 * - `reset-before-create`: the connection is dropped and no call is placed.
 */
export type FakeCreateFault = 'reset-after-create' | '500-after-create' | 'reset-before-create';

/** Knobs of {@link FakeTwilio}. */
export interface FakeTwilioOptions {
  /** Account SID the fake accepts (default: a random `AC...`). */
  accountSid?: string;
  /** Auth token the fake accepts and signs callbacks with (default: random). */
  authToken?: string;
  /** An error for a create to this number (a Twilio code, or code + status + message), or undefined to place it. */
  errorFor?: (to: string, params: URLSearchParams) => number | FakeTwilioError | undefined;
  /** A fault for a create to this number (`n`: how many creates the fake has seen, this one included). */
  createFault?: (to: string, n: number) => FakeCreateFault | undefined;
  /** The first K create requests answer 429 with code 20429. */
  rateLimitBurst?: number;
  /** `Retry-After` (seconds) sent with those 429s. */
  retryAfterSec?: number;
  /** How the call to this number ends (default `completed`). */
  outcome?: (to: string) => FakeCallOutcome;
  /** AMD verdict for this number, sent when the call asked for `MachineDetection`. */
  answeredBy?: (to: string) => string | undefined;
  /** How long a call to this number stays `queued` before it starts, in ms (default 0). */
  queuedMs?: (to: string) => number;
  /** Pause between progress steps, in ms (default 5). */
  stepMs?: number;
  /** How long an answered call lasts, in ms (default 30), fixed or per number. */
  callDurationMs?: number | ((to: string) => number);
  /** Send every status callback this many times at once (default 1). */
  duplicateCallbacks?: number;
  /** Deliver progress callbacks newest first, and a stale `ringing` after the end. */
  reorderCallbacks?: boolean;
  /** Fire this many of a call's first callbacks (and wait for their answers) before answering the create. */
  callbacksBeforeCreateResponse?: number;
}

/** One create request, as the fake saw it. */
export interface CreateLogEntry {
  at: number;
  to: string;
  from: string;
  /** HTTP status of the answer (201 when the call was placed, 0 when the connection was dropped). */
  status: number;
  /** The fault injected, if any. */
  fault?: FakeCreateFault;
  /** The call's SID, when placed. */
  sid?: string;
  /** Twilio's error code, when refused. */
  code?: number;
}

/** One Calls list request, as the fake saw it: its query parameters. */
export interface ListLogEntry {
  at: number;
  query: Record<string, string>;
}

/** One status callback the fake sent, and what the host answered. */
export interface CallbackLogEntry {
  at: number;
  sid: string;
  callStatus: FakeCallStatus;
  url: string;
  /** The host's HTTP status, 0 if it did not answer. */
  responseStatus: number;
}

/**
 * A stand-in for Twilio's Calls API on 127.0.0.1: the real `twilio` client talks to it (see
 * `fakeTwilioClient`), and it drives every call through its statuses by POSTing signed status
 * callbacks to the `StatusCallback` URL of the create request. Tests never reach the internet.
 */
export class FakeTwilio {
  readonly accountSid: string;
  readonly authToken: string;
  /** Every create request, in arrival order. */
  readonly creates: CreateLogEntry[] = [];
  /** Every Calls list request, in arrival order. */
  readonly lists: ListLogEntry[] = [];
  /** Every status callback sent. */
  readonly callbacks: CallbackLogEntry[] = [];
  /** Every call placed, by SID. */
  readonly calls = new Map<string, FakeCallRecord>();
  private readonly options: FakeTwilioOptions;
  private readonly simulations = new Map<string, CallSimulation>();
  private readonly running = new Set<Promise<void>>();
  private server: Server | undefined;
  private live = 0;
  private maxLive = 0;
  private creates429 = 0;
  private base = '';

  /**
   * @param options - errors, outcomes, timing and callback delivery knobs
   */
  constructor(options: FakeTwilioOptions = {}) {
    this.options = options;
    this.accountSid = options.accountSid ?? newSid('AC');
    this.authToken = options.authToken ?? newSid('AC').slice(2);
  }

  /** Base URL of the fake (`http://127.0.0.1:PORT`), the stand-in for `https://api.twilio.com`. */
  get baseUrl(): string {
    if (!this.base) throw new Error('FakeTwilio not started');
    return this.base;
  }

  /** Calls placed and not yet over, now. */
  get liveCalls(): number {
    return this.live;
  }

  /** The most calls that were live at the same instant. */
  get maxLiveCalls(): number {
    return this.maxLive;
  }

  /** Starts listening on a random port of 127.0.0.1. */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err) => {
        if (!res.headersSent) this.json(res, 500, { code: 20500, message: String(err), status: 500 });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves when no call is live and every callback sent has been answered. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Stops every call (no more callbacks) and closes the server. */
  async stop(): Promise<void> {
    for (const sim of this.simulations.values()) sim.stop();
    await this.idle();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls(?:\/([^/]+))?\.json$/.exec(url.pathname);
    if (!match) return this.error(res, { code: 20404, status: 404 });
    if (!this.authorized(req, match[1]!)) return this.error(res, { code: 20003 });
    const body = new URLSearchParams(await readBody(req));
    const sid = match[2];
    if (sid === undefined && req.method === 'POST') return this.create(body, res);
    if (sid === undefined && req.method === 'GET') return this.list(url, res);
    if (sid === undefined)
      return this.error(res, { code: 20004, status: 405, message: 'Method not allowed' });
    const call = this.calls.get(sid);
    if (!call) return this.error(res, { code: 20404 });
    if (req.method === 'GET') return this.json(res, 200, callJson(call));
    if (req.method === 'POST') return this.update(call, body, res);
    return this.error(res, { code: 20004, status: 405, message: 'Method not allowed' });
  }

  private authorized(req: IncomingMessage, pathAccount: string): boolean {
    const header = req.headers.authorization ?? '';
    const [scheme, encoded] = header.split(' ');
    if (scheme !== 'Basic' || !encoded) return false;
    const [user, password] = Buffer.from(encoded, 'base64').toString('utf8').split(':');
    return user === this.accountSid && password === this.authToken && pathAccount === this.accountSid;
  }

  private async create(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const to = params.get('To') ?? '';
    const from = params.get('From') ?? '';
    const entry: CreateLogEntry = { at: Date.now(), to, from, status: 201 };
    this.creates.push(entry);
    const fault = this.options.createFault?.(to, this.creates.length);
    if (fault !== undefined) entry.fault = fault;
    if (fault === 'reset-before-create') {
      entry.status = 0;
      res.socket?.destroy();
      return;
    }
    const refuse = (error: FakeTwilioError, headers: Record<string, string> = {}) => {
      const { status } = errorBody(error);
      entry.status = status;
      entry.code = error.code;
      this.error(res, error, headers);
    };
    if (this.creates429 < (this.options.rateLimitBurst ?? 0)) {
      this.creates429++;
      const retry = this.options.retryAfterSec;
      return refuse({ code: 20429 }, retry === undefined ? {} : { 'retry-after': String(retry) });
    }
    if (!to) return refuse({ code: 21201, message: "No 'To' number is specified" });
    if (!from) return refuse({ code: 21213, message: 'Caller ID is required' });
    if (!params.get('Url') && !params.get('Twiml') && !params.get('ApplicationSid')) {
      return refuse({ code: 21205, message: 'Url parameter is required' });
    }
    const error = this.options.errorFor?.(to, params);
    if (error !== undefined) return refuse(typeof error === 'number' ? { code: error } : error);

    const now = new Date();
    const call: FakeCallRecord = {
      sid: newSid('CA'),
      accountSid: this.accountSid,
      to,
      from,
      status: 'queued',
      createdAt: now,
      updatedAt: now,
      order: this.creates.length,
      params,
    };
    entry.sid = call.sid;
    this.calls.set(call.sid, call);
    this.live++;
    this.maxLive = Math.max(this.maxLive, this.live);
    const sim = new CallSimulation(call, this.script(to), this.delivery(), {
      post: (c, status, sequence, extra) => this.postCallback(c, status, sequence, extra),
      ended: () => {
        this.live--;
      },
    });
    this.simulations.set(call.sid, sim);
    const body = callJson(call);
    const early = this.options.callbacksBeforeCreateResponse ?? 0;
    if (early > 0) await sim.runFirst(early);
    if (fault === 'reset-after-create') {
      entry.status = 0;
      res.socket?.destroy();
    } else if (fault === '500-after-create') {
      entry.status = 500;
      entry.code = 20500;
      this.error(res, { code: 20500, message: 'Internal Server Error' });
    } else {
      this.json(res, 201, body);
    }
    const running = sim.run().finally(() => this.running.delete(running));
    this.running.add(running);
  }

  /**
   * `GET /Calls.json`: the calls that match every filter given (`To`, `From`, `Status`,
   * `StartTime`, `StartTime>`, `StartTime<`, as `YYYY-MM-DD` or ISO date-times; a call not yet
   * started has no start time and matches no `StartTime` filter), newest first, paged with
   * `PageSize` (default 50) and `Page`.
   */
  private list(url: URL, res: ServerResponse): void {
    const query = Object.fromEntries(url.searchParams);
    this.lists.push({ at: Date.now(), query });
    const to = url.searchParams.get('To');
    const from = url.searchParams.get('From');
    const status = url.searchParams.get('Status');
    const on = dateFilter(url.searchParams.get('StartTime'));
    const after = dateFilter(url.searchParams.get('StartTime>'));
    const before = dateFilter(url.searchParams.get('StartTime<'));
    if (on === null || after === null || before === null) {
      this.error(res, { code: 20001, status: 400, message: 'Invalid StartTime' });
      return;
    }
    const dayOf = (t: number) => Math.floor(t / 86_400_000);
    const matching = [...this.calls.values()]
      .filter((call) => {
        if (to !== null && call.to !== to) return false;
        if (from !== null && call.from !== from) return false;
        if (status !== null && call.status !== status) return false;
        if (on === undefined && after === undefined && before === undefined) return true;
        const started = call.dialedAt?.getTime();
        if (started === undefined) return false;
        if (on !== undefined && dayOf(started) !== dayOf(on)) return false;
        if (after !== undefined && started < after) return false;
        if (before !== undefined && started > before) return false;
        return true;
      })
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.order - a.order);
    const pageSize = Math.min(1000, Math.max(1, Number(url.searchParams.get('PageSize') ?? 50) || 50));
    const page = Math.max(0, Number(url.searchParams.get('Page') ?? 0) || 0);
    const slice = matching.slice(page * pageSize, (page + 1) * pageSize);
    const uriOf = (n: number) => {
      const next = new URLSearchParams(url.searchParams);
      next.set('Page', String(n));
      next.set('PageSize', String(pageSize));
      return `${url.pathname}?${next.toString()}`;
    };
    this.json(res, 200, {
      calls: slice.map(callJson),
      start: page * pageSize,
      end: page * pageSize + Math.max(0, slice.length - 1),
      page,
      page_size: pageSize,
      uri: uriOf(page),
      first_page_uri: uriOf(0),
      previous_page_uri: page > 0 ? uriOf(page - 1) : null,
      next_page_uri: (page + 1) * pageSize < matching.length ? uriOf(page + 1) : null,
    });
  }

  private update(call: FakeCallRecord, params: URLSearchParams, res: ServerResponse): void {
    const status = params.get('Status');
    if (status !== 'completed' && status !== 'canceled') {
      this.json(res, 200, callJson(call)); // only hang-ups are simulated
      return;
    }
    const sim = this.simulations.get(call.sid);
    if (!sim || sim.ended || (status === 'canceled' && call.status === 'in-progress')) {
      this.error(res, { code: 21220 });
      return;
    }
    sim.hangup();
    this.json(res, 200, callJson(call));
  }

  private script(to: string): CallScript {
    const { callDurationMs } = this.options;
    return {
      outcome: this.options.outcome?.(to) ?? 'completed',
      stepMs: this.options.stepMs ?? 5,
      durationMs: typeof callDurationMs === 'function' ? callDurationMs(to) : (callDurationMs ?? 30),
      answeredBy: this.options.answeredBy?.(to),
      errorCode: '31005',
      queuedMs: this.options.queuedMs?.(to) ?? 0,
    };
  }

  private delivery(): CallbackDelivery {
    return {
      copies: this.options.duplicateCallbacks ?? 1,
      reorder: this.options.reorderCallbacks ?? false,
    };
  }

  private async postCallback(
    call: FakeCallRecord,
    status: FakeCallStatus,
    sequence: number,
    extra: Record<string, string>,
  ): Promise<void> {
    const url = call.params.get('StatusCallback');
    if (!url) return;
    const params: Record<string, string> = {
      AccountSid: call.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: status,
      Called: call.to,
      Caller: call.from,
      CallbackSource: 'call-progress-events',
      Direction: 'outbound-api',
      From: call.from,
      SequenceNumber: String(sequence),
      Timestamp: rfc2822(new Date()),
      To: call.to,
      ...extra,
    };
    const { status: responseStatus } = await postSignedForm(url, params, this.authToken);
    this.callbacks.push({ at: Date.now(), sid: call.sid, callStatus: status, url, responseStatus });
  }

  private error(res: ServerResponse, error: FakeTwilioError, headers: Record<string, string> = {}): void {
    const { status, body } = errorBody(error);
    this.json(res, status, body, headers);
  }

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
}

/**
 * A `StartTime` filter value as epoch ms: `YYYY-MM-DD` is midnight UTC of that day; undefined
 * when absent, null when unreadable.
 */
function dateFilter(value: string | null): number | undefined | null {
  if (value === null || value === '') return undefined;
  const at = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  return Number.isNaN(at) ? null : at;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
