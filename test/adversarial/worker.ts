/**
 * A worker process of the multi-process tests: one OutboundQueue on real PostgreSQL and a
 * RedisSlotLimiter on real Redis, dialing through the test's call provider over HTTP. Started by
 * {@link WorkerPool} as `node --import tsx test/adversarial/worker.ts`, with an IPC channel.
 *
 * It writes to the shared log every `dial()` entered and returned, every slot released and job
 * ended, and every warning the library logs. It serves `POST /events` (the status webhook: the
 * provider delivers call events to any live worker) and tells its parent its port when ready.
 *
 * Environment: OQ_DB_URL, OQ_REDIS_URL, OQ_REDIS_PREFIX, OQ_PROVIDER_URL, OQ_LOG_FILE, OQ_LEASE_MS,
 * and optionally OQ_DIALS_PER_SECOND and OQ_CONTROL_FILE.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { register } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import type { Logger } from '../../src/logger.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { CallEvent } from '../../src/types.js';
import { postgresDb } from '../support/postgres.js';
import { appendLog, type LogFields } from './call-log.js';

// The Redis limiter imports its Lua scripts as text (tsup's and vitest's `.lua` loader); under
// plain Node + tsx a load hook does the same. Registered before the limiter is imported.
const luaAsText = `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function load(url, context, next) {
  if (!url.endsWith('.lua')) return next(url, context);
  const text = readFileSync(fileURLToPath(url), 'utf8');
  return { format: 'module', shortCircuit: true, source: 'export default ' + JSON.stringify(text) + ';' };
}`;
register(`data:text/javascript,${encodeURIComponent(luaAsText)}`);
const { RedisSlotLimiter } = await import('../../src/redis.js');

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`worker: ${name} is not set`);
  return value;
}

const logFile = env('OQ_LOG_FILE');
const providerUrl = env('OQ_PROVIDER_URL');
const pid = process.pid;

function log(entry: LogFields): void {
  appendLog(logFile, { src: 'worker', t: Date.now(), pid, ...entry });
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

process.on('uncaughtException', (err) => {
  log({ ev: 'crash', msg: describeError(err), stack: err.stack });
  process.exit(70);
});
process.on('unhandledRejection', (err) => {
  log({ ev: 'crash', msg: describeError(err), stack: err instanceof Error ? err.stack : undefined });
  process.exit(70);
});

/** Warnings and errors of the library go to the shared log (with errors flattened to text). */
function fileLogger(): Logger {
  const write = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) fields[k] = v instanceof Error ? describeError(v) : v;
    log({ ev: 'log', level, msg, fields });
  };
  const quiet = () => {};
  return { debug: quiet, info: quiet, warn: write('warn'), error: write('error') };
}

async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/**
 * Places calls at the provider. The call lives there, not here: its end is reported (as a webhook
 * to any live worker) even after this process is killed.
 */
class ProviderDialer implements Dialer {
  async dial(req: DialRequest, _ctx: DialContext): Promise<DialResult> {
    const who = {
      jobId: req.jobId,
      runId: req.runId,
      businessId: req.businessId,
      attempt: req.attempt,
      lockToken: req.lockToken,
    };
    log({ ev: 'dial:start', ...who });
    try {
      const res = await postJson(`${providerUrl}/calls`, { ...who, pid });
      if (!res.ok) throw new Error(`provider answered ${res.status}`);
      const { callId } = (await res.json()) as { callId: string };
      log({ ev: 'dial:end', ...who, callId });
      return { callId };
    } catch (err) {
      log({ ev: 'dial:error', ...who, msg: describeError(err) });
      throw err;
    }
  }

  async fetchCall(callId: string): Promise<CallEvent | undefined> {
    const res = await fetch(`${providerUrl}/calls/${encodeURIComponent(callId)}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`provider answered ${res.status}`);
    const state = (await res.json()) as CallEvent;
    log({ ev: 'fetch:call', callId, jobId: state.jobId, status: state.status });
    return state;
  }
}

const db = postgresDb(env('OQ_DB_URL'), 5);
const redis = new Redis(env('OQ_REDIS_URL'));
// Connection errors while Redis restarts are expected; the limiter's commands are retried.
redis.on('error', () => {});
const limiter = new RedisSlotLimiter({ redis, prefix: process.env.OQ_REDIS_PREFIX });
const queue = new OutboundQueue({
  store: new KyselyStore({ db }),
  limiter,
  dialer: new ProviderDialer(),
  logger: fileLogger(),
  leaseMs: Number(env('OQ_LEASE_MS')),
  dialsPerSecond: process.env.OQ_DIALS_PER_SECOND ? Number(process.env.OQ_DIALS_PER_SECOND) : undefined,
});
queue.on('slot:released', (e) =>
  log({ ev: 'slot:released', jobId: e.jobId, businessId: e.businessId, promoted: e.promoted }),
);
queue.on('job:ended', (e) =>
  log({ ev: 'job:ended', jobId: e.jobId, runId: e.runId, businessId: e.businessId, status: e.status }),
);
// OQ_CONTROL_FILE lets the test make this process stall (a long GC pause, a starved CPU) between a
// claim and its dial(): 'job:dialing' is emitted synchronously right before dial(). The file holds
// {"stallRunId": "...", "stallMs": n} once the test wants it.
const controlFile = process.env.OQ_CONTROL_FILE;
if (controlFile) {
  queue.on('job:dialing', (e) => {
    if (!existsSync(controlFile)) return;
    const control = JSON.parse(readFileSync(controlFile, 'utf8')) as {
      stallRunId?: string;
      stallMs?: number;
    };
    if (control.stallRunId !== e.runId) return;
    log({ ev: 'dial:stalling', jobId: e.jobId, runId: e.runId, businessId: e.businessId });
    const until = Date.now() + (control.stallMs ?? 0);
    while (Date.now() < until) {
      // Busy: nothing else of this process runs meanwhile.
    }
  });
}
queue.on('run:completed', (e) => log({ ev: 'run:completed', runId: e.runId, businessId: e.businessId }));
queue.on('error', (err) => log({ ev: 'error', msg: describeError(err) }));

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// The host's status-callback route.
const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/events') return reply(res, 404, { error: 'not found' });
  void (async () => {
    try {
      const event = JSON.parse(await readBody(req)) as CallEvent;
      const { applied } = await queue.handleCallEvent(event);
      reply(res, 200, { applied, pid });
    } catch (err) {
      log({ ev: 'event:failed', msg: describeError(err) });
      reply(res, 500, { error: describeError(err) });
    }
  })();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

// Ready (serving webhooks, known to the test) before dispatching, so that every call this process
// places comes from a worker the test knows.
log({ ev: 'worker:ready', port });
process.send?.({ type: 'ready', port });
await queue.start();
log({ ev: 'worker:started' });

let closing = false;
async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  // Never hang the suite: a close that takes too long ends with an exit anyway.
  setTimeout(() => process.exit(code), 5_000).unref();
  server.close();
  server.closeAllConnections();
  try {
    await queue.close();
  } catch (err) {
    log({ ev: 'error', msg: `close: ${describeError(err)}` });
  }
  redis.disconnect();
  await db.destroy().catch(() => {});
  log({ ev: 'worker:closed' });
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
// The parent (the test) is gone: never outlive it.
process.on('disconnect', () => void shutdown(0));
