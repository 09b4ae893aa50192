import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallEvent, CallStatus } from '../../src/types.js';
import { appendLog, type LogFields } from './call-log.js';

/** A worker that can receive webhooks. */
export interface WebhookTarget {
  pid: number;
  port: number;
}

/** One call as the provider knows it. */
export interface ProviderCall {
  callId: string;
  jobId: string;
  runId: string;
  businessId: string;
  attempt: number;
  lockToken: string;
  /** The worker that placed the call. */
  pid: number;
  /** The end state it will have. */
  outcome: CallStatus;
  ended: boolean;
  durationMs: number;
  /** Ended before the dial request was answered. */
  early: boolean;
}

/** Options of {@link CallProvider}. */
export interface CallProviderOptions {
  /** The shared log. */
  logFile: string;
  /** The workers that are alive now (webhooks go to one of them). */
  workers: () => readonly WebhookTarget[];
  /** Call length range in ms (default 50 to 300). */
  callMs?: readonly [number, number];
  /** End state of each call (default `completed`). */
  outcome?: () => CallStatus;
  /**
   * Deliver every terminal event three times, to three different workers at once, shuffled with
   * `ringing` and `in-progress`; and deliver a `ringing` before `dial()` has returned.
   */
  duplicate?: boolean;
  /**
   * Awaited when a call has started and before the dial request is answered: the test's chaos hook
   * (it may kill the calling worker, which then never learns the call id).
   */
  onCallStart?: (call: ProviderCall, started: number) => void | Promise<void>;
}

/** How long the provider keeps trying to deliver one event before it gives up and logs it lost. */
const DELIVERY_DEADLINE_MS = 60_000;
const DELIVERY_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * The phone network of the multi-process tests, living in the test process: calls are timers here,
 * so a call goes on (and its end is reported) after the worker that placed it was killed. It logs
 * each call's start and end (its single process and sequence number make that order authoritative)
 * and delivers call events like a provider's status webhook: to any live worker, again to another
 * one when the delivery fails.
 */
export class CallProvider {
  private readonly server: Server;
  private readonly calls = new Map<string, ProviderCall>();
  /** call id -> its end timer and when it fires, for live calls. */
  private readonly endings = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly callMs: readonly [number, number];
  private seq = 0;
  private nextCall = 1;
  private live = 0;
  private pending = 0;
  private started = 0;
  private closed = false;
  /** Where the workers reach it, once listening. */
  url = '';

  constructor(private readonly options: CallProviderOptions) {
    this.callMs = options.callMs ?? [50, 300];
    this.server = createServer((req, res) => void this.route(req, res));
  }

  /** Starts listening on a free loopback port. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Calls started so far. */
  get callsStarted(): number {
    return this.started;
  }

  /** Whether no call is live and no event waits for delivery. */
  get idle(): boolean {
    return this.live === 0 && this.pending === 0;
  }

  /** Stops delivering and listening. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { timer } of this.endings.values()) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private log(entry: LogFields): void {
    this.seq += 1;
    appendLog(this.options.logFile, { src: 'provider', t: Date.now(), seq: this.seq, ...entry });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://provider');
      if (req.method === 'POST' && url.pathname === '/calls') {
        await this.placeCall(JSON.parse(await readBody(req)) as Omit<ProviderCall, 'callId'>, req, res);
        return;
      }
      const fetched = /^\/calls\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'GET' && fetched) {
        const call = this.calls.get(decodeURIComponent(fetched[1]!));
        if (!call) return reply(res, 404, { error: 'no such call' });
        const state: CallEvent = {
          jobId: call.jobId,
          callId: call.callId,
          status: call.ended ? call.outcome : 'in-progress',
          ...(call.ended ? { durationSec: Math.round(call.durationMs / 1000) } : {}),
        };
        return reply(res, 200, state);
      }
      reply(res, 404, { error: 'not found' });
    } catch (err) {
      reply(res, 500, { error: String(err) });
    }
  }

  private async placeCall(
    req: Omit<ProviderCall, 'callId'>,
    httpReq: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const [min, max] = this.callMs;
    // In duplicate mode a quarter of the calls end at once (busy lines, instant failures): their
    // end arrives, three times, before the create request has been answered.
    const early = this.options.duplicate === true && Math.random() < 0.25;
    const call: ProviderCall = {
      callId: `CA${String(this.nextCall++).padStart(6, '0')}`,
      jobId: req.jobId,
      runId: req.runId,
      businessId: req.businessId,
      attempt: req.attempt,
      lockToken: req.lockToken,
      pid: req.pid,
      outcome: this.options.outcome?.() ?? 'completed',
      ended: false,
      durationMs: early ? 0 : Math.round(min + Math.random() * (max - min)),
      early,
    };
    this.calls.set(call.callId, call);
    this.live += 1;
    this.started += 1;
    const { outcome: _outcome, ended: _ended, ...fields } = call;
    this.log({ ev: 'call:start', ...fields });
    const base = { jobId: call.jobId, lockToken: call.lockToken, callId: call.callId };
    // Providers call back while the create request is still in flight.
    if (this.options.duplicate) await this.deliver({ ...base, status: 'ringing' }, { retry: true });
    if (early) await this.endCall(call);
    else {
      this.endings.set(call.callId, {
        timer: setTimeout(() => void this.endCall(call), call.durationMs),
        at: Date.now() + call.durationMs,
      });
    }
    await this.options.onCallStart?.(call, this.started);
    if (!httpReq.socket.destroyed) reply(res, 200, { callId: call.callId });
    if (!this.options.duplicate) void this.deliver({ ...base, status: 'in-progress' }, { retry: false });
  }

  /**
   * Makes every live call last `extraMs` longer (callers that keep talking), so that calls live at a
   * given moment are still live well after it.
   * @returns how many calls were stretched
   */
  stretchLiveCalls(extraMs: number): number {
    const now = Date.now();
    for (const [callId, ending] of this.endings) {
      const call = this.calls.get(callId)!;
      clearTimeout(ending.timer);
      ending.at += extraMs;
      call.durationMs += extraMs;
      ending.timer = setTimeout(() => void this.endCall(call), ending.at - now);
    }
    this.log({ ev: 'calls:stretched', count: this.endings.size, extraMs });
    return this.endings.size;
  }

  private async endCall(call: ProviderCall): Promise<void> {
    this.endings.delete(call.callId);
    call.ended = true;
    this.live -= 1;
    this.log({
      ev: 'call:end',
      callId: call.callId,
      jobId: call.jobId,
      businessId: call.businessId,
      pid: call.pid,
      status: call.outcome,
    });
    const base = { jobId: call.jobId, lockToken: call.lockToken, callId: call.callId };
    const terminal: CallEvent = {
      ...base,
      status: call.outcome,
      durationSec: Math.round(call.durationMs / 1000),
    };
    if (!this.options.duplicate) {
      await this.deliver(terminal, { retry: true });
      return;
    }
    // Three copies of the end, each to another worker, at the same time as late progress events.
    const targets = shuffle([...this.options.workers()]).slice(0, 3);
    const sends: { event: CallEvent; to?: number }[] = [
      ...targets.map((w) => ({ event: terminal, to: w.pid })),
      { event: { ...base, status: 'ringing' } },
      { event: { ...base, status: 'in-progress' } },
    ];
    await Promise.all(
      shuffle(sends).map(async ({ event, to }) => {
        await sleep(Math.random() * 15);
        await this.deliver(event, { retry: true, to });
      }),
    );
  }

  /**
   * Posts an event to a live worker's webhook route; on failure (the worker died, or answered an
   * error) tries another live worker, until delivered or the deadline passes.
   */
  private async deliver(event: CallEvent, opts: { retry: boolean; to?: number }): Promise<void> {
    this.pending += 1;
    const deadline = Date.now() + DELIVERY_DEADLINE_MS;
    let preferred = opts.to;
    let failedPid: number | undefined;
    try {
      while (!this.closed) {
        const workers = this.options.workers();
        const others = workers.filter((w) => w.pid !== failedPid);
        const pool = others.length > 0 ? others : workers;
        const target = pool.find((w) => w.pid === preferred) ?? pool[Math.floor(Math.random() * pool.length)];
        preferred = undefined;
        if (target) {
          const fields = { jobId: event.jobId, callId: event.callId, status: event.status, pid: target.pid };
          try {
            const res = await fetch(`http://127.0.0.1:${target.port}/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(event),
              signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
            });
            const body = (await res.json()) as { applied?: boolean; error?: string };
            if (res.ok) {
              this.log({ ev: 'event:delivered', ...fields, applied: body.applied === true });
              return;
            }
            this.log({ ev: 'event:refused', ...fields, msg: body.error ?? String(res.status) });
          } catch (err) {
            this.log({
              ev: 'event:undelivered',
              ...fields,
              msg: err instanceof Error ? err.message : String(err),
            });
          }
          failedPid = target.pid;
        }
        if (!opts.retry) return;
        if (Date.now() > deadline) {
          this.log({ ev: 'event:lost', jobId: event.jobId, callId: event.callId, status: event.status });
          return;
        }
        await sleep(25);
      }
    } finally {
      this.pending -= 1;
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
