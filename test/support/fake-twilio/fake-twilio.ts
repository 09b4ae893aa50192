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

/** Knobs of {@link FakeTwilio}. */
export interface FakeTwilioOptions {
  /** Account SID the fake accepts (default: a random `AC...`). */
  accountSid?: string;
  /** Auth token the fake accepts and signs callbacks with (default: random). */
  authToken?: string;
  /** An error for a create to this number (a Twilio code, or code + status + message), or undefined to place it. */
  errorFor?: (to: string, params: URLSearchParams) => number | FakeTwilioError | undefined;
  /** The first K create requests answer 429 with code 20429. */
  rateLimitBurst?: number;
  /** `Retry-After` (seconds) sent with those 429s. */
  retryAfterSec?: number;
  /** How the call to this number ends (default `completed`). */
  outcome?: (to: string) => FakeCallOutcome;
  /** AMD verdict for this number, sent when the call asked for `MachineDetection`. */
  answeredBy?: (to: string) => string | undefined;
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
  /** HTTP status of the answer (201 when the call was placed). */
  status: number;
  /** The call's SID, when placed. */
  sid?: string;
  /** Twilio's error code, when refused. */
  code?: number;
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
    this.json(res, 201, body);
    const running = sim.run().finally(() => this.running.delete(running));
    this.running.add(running);
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

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
