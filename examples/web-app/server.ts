/**
 * A web app on node:http with outbound-queue: `npm run build` once (`npm install` does it), then
 * `npx tsx examples/web-app/server.ts` and open http://localhost:3000 (`PORT=0` picks a free port).
 * It imports the package by name, as an installed app does. Routes:
 *
 *   GET  /                          the page: start a run, watch its progress, stop it
 *   POST /runs                      start a run (JSON: { businessId, concurrency, leads, from?, runId? }):
 *                                   201 when created, 200 when `runId` named the same run already
 *   GET  /runs                      runs, newest first (query: businessId, status, limit, after)
 *   GET  /runs/:id                  the run's progress (RunSummary)
 *   POST /runs/:id/stop             stop it (JSON, optional: { hangup: true })
 *   GET  /runs/:id/jobs             its jobs (query: status, limit, after: a jobId)
 *   GET  /jobs/:id                  one job, with its attempts
 *   POST /webhooks/twilio/status    Twilio's status callbacks, signature checked (Twilio mode only)
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  IdempotencyConflictError,
  InvalidStateError,
  type JobStatus,
  NotFoundError,
  OutboundQueueError,
  type RunStatus,
  type StartRunInput,
  ValidationError,
} from 'outbound-queue';
import { createWebApp } from './queue-setup.js';

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
const app = await createWebApp();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw new HttpError(400, 'body must be a JSON object');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** Hands a node:http request to a web-standard handler (Request in, Response out) and back. */
async function bridge(
  req: IncomingMessage,
  res: ServerResponse,
  handler: (request: Request) => Promise<Response>,
): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
      headers.append(name, v);
  }
  const body = await readBody(req);
  const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  const response = await handler(new Request(url, { method: req.method, headers, body }));
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

function errorStatus(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof ValidationError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof InvalidStateError || err instanceof IdempotencyConflictError) return 409;
  return 500;
}

/** The query of GET /runs; the queue validates the values (a bad `status` is a ValidationError). */
function listQuery(query: URLSearchParams) {
  const limit = query.get('limit');
  if (limit !== null && !/^\d+$/.test(limit)) throw new HttpError(400, 'limit must be a whole number');
  return {
    businessId: query.get('businessId') ?? undefined,
    status: (query.get('status') ?? undefined) as RunStatus | undefined,
    limit: limit === null ? undefined : Number(limit),
    after: query.get('after') ?? undefined,
  };
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname, searchParams } = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const runPath = /^\/runs\/([^/]+)(\/stop|\/jobs)?$/.exec(pathname);
  const runId = runPath ? decodeURIComponent(runPath[1]!) : undefined;
  const jobPath = /^\/jobs\/([^/]+)$/.exec(pathname);

  if (method === 'GET' && pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  } else if (method === 'POST' && pathname === '/runs') {
    // The queue validates the whole input (numbers, concurrency, duplicates) and names bad rows.
    const run = await app.queue.startRun((await readJson(req)) as unknown as StartRunInput);
    // Retrying a POST with the same runId is safe: the client gets the existing run, not a copy.
    sendJson(res, run.created ? 201 : 200, run);
  } else if (method === 'GET' && pathname === '/runs') {
    sendJson(res, 200, await app.queue.listRuns(listQuery(searchParams)));
  } else if (method === 'GET' && jobPath) {
    sendJson(res, 200, await app.queue.getJob(decodeURIComponent(jobPath[1]!)));
  } else if (method === 'GET' && runId !== undefined && !runPath?.[2]) {
    sendJson(res, 200, await app.queue.getRun(runId));
  } else if (method === 'GET' && runId !== undefined && runPath?.[2] === '/jobs') {
    const { status, limit, after } = listQuery(searchParams);
    sendJson(
      res,
      200,
      await app.queue.listJobs(runId, { status: status as JobStatus | undefined, limit, after }),
    );
  } else if (method === 'POST' && runId !== undefined && runPath?.[2] === '/stop') {
    const { hangup } = await readJson(req);
    sendJson(res, 200, await app.queue.stop(runId, { hangup: hangup === true }));
  } else if (method === 'POST' && pathname === '/webhooks/twilio/status') {
    if (!app.twilioWebhook) throw new HttpError(404, 'Twilio is not configured (see README.md)');
    await bridge(req, res, app.twilioWebhook);
  } else {
    throw new HttpError(404, `no route for ${method} ${pathname}`);
  }
}

const server = createServer((req, res) => {
  route(req, res).catch((err: unknown) => {
    const status = errorStatus(err);
    if (status === 500) console.error(err);
    if (res.headersSent) return void res.end();
    sendJson(res, status, {
      error: err instanceof OutboundQueueError ? err.code : status === 500 ? 'INTERNAL' : 'HTTP',
      message: status === 500 ? 'internal error' : (err as Error).message,
      ...(err instanceof ValidationError ? { issues: err.issues } : {}),
    });
  });
});

server.listen(Number(process.env.PORT ?? 3000), () => {
  // The port actually bound: with PORT=0 the system picks a free one (scripts/check-examples.ts).
  const { port } = server.address() as AddressInfo;
  console.log(`web app on http://localhost:${port} (${app.mode} calls)`);
});

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  console.log(`${signal}: closing`);
  // Stop taking requests (and webhooks) first: a webhook handled later could still start a call.
  server.close();
  server.closeIdleConnections();
  await app.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
