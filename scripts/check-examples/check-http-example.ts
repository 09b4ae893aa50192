/**
 * Smoke check of one web example (examples/express, examples/fastify, examples/hono: the same
 * routes in each): starts its server on a free port with a throwaway SQLite file and fast simulated
 * calls, drives the API (behind the dashboard's login), the error mapping and the mounted dashboard
 * over HTTP, then starts it again in Twilio mode for the webhook route (open, signature checked) and
 * the dashboard behind PUBLIC_URL; each time it stops it with SIGTERM and expects a clean exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { assertNothingLeft, startExample } from './child.js';
import { expect } from './expect.js';

type Body = Record<string, unknown>;

const PASSWORD = 'secret';
const AUTH = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
const TWILIO_ENV = {
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'check-auth-token',
  TWILIO_FROM: '+14155550100',
  // Where Twilio would reach the app; nothing is called there: the check dials no one.
  PUBLIC_URL: 'https://example.invalid',
};

/**
 * The check of one example: the whole app in simulated mode, then the Twilio webhook route in
 * Twilio mode (a signed callback must reach the handler with its form body unread by the framework).
 * @param name - the example's folder under examples/, which holds its `server.ts`
 * @returns the step for scripts/check-examples.ts
 */
export function checkHttpExample(name: string): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), `oq-${name}-`));
    try {
      await withServer(name, 'simulated', { DB_FILE: join(dir, 'simulated.sqlite') }, (base) =>
        drive(base, name),
      );
      await withServer(name, 'twilio', { DB_FILE: join(dir, 'twilio.sqlite'), ...TWILIO_ENV }, (base) =>
        driveWebhook(base),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Starts the example's server, hands its address to `body`, then stops it with SIGTERM. */
async function withServer(
  name: string,
  mode: string,
  env: NodeJS.ProcessEnv,
  body: (base: string) => Promise<void>,
): Promise<void> {
  const server = startExample(name, `examples/${name}/server.ts`, [], {
    PORT: '0',
    DASHBOARD_PASSWORD: PASSWORD,
    SIM_MIN_MS: '200',
    SIM_MAX_MS: '500',
    ...env,
  });
  try {
    const [, port] = await server.waitFor(
      new RegExp(`example on http://localhost:(\\d+) \\(${mode} calls\\)`),
      30_000,
    );
    await body(`http://127.0.0.1:${port}`);
    server.process.kill('SIGTERM');
    const code = await server.exited(10_000);
    expect(code === 0, `${name} (${mode}) exits 0 on SIGTERM`, code);
    await assertNothingLeft(server);
  } finally {
    server.killGroup();
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: {
    json?: unknown;
    form?: Record<string, string>;
    text?: string;
    headers?: Record<string, string>;
    /** Send no login (by default every call carries the right one). */
    anonymous?: boolean;
  } = {},
): Promise<Answer> {
  const res = await fetch(base + path, {
    method,
    redirect: 'manual',
    headers: {
      ...(options.anonymous ? {} : { authorization: AUTH }),
      ...(options.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.form
      ? new URLSearchParams(options.form)
      : options.text !== undefined
        ? options.text
        : options.json === undefined
          ? undefined
          : JSON.stringify(options.json),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json');
  return {
    status: res.status,
    headers: res.headers,
    body: json && text ? (JSON.parse(text) as unknown) : text,
  };
}

const field = (answer: Answer, key: string) => (answer.body as Body | undefined)?.[key];

/** Polls the run until `done` holds; fails after `timeoutMs`. */
async function waitForRun(base: string, runId: string, done: (run: Body) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await call(base, 'GET', `/runs/${encodeURIComponent(runId)}`);
    if (read.status === 200 && done(read.body as Body)) return read.body as Body;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} not done within ${timeoutMs} ms: ${JSON.stringify(read)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Reads the event stream until its first `run` message, then hangs up. */
async function firstRunEvent(base: string): Promise<{ status: number; type: string; text: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10_000);
  try {
    const res = await fetch(`${base}/dashboard/api/events`, {
      headers: { authorization: AUTH },
      signal: abort.signal,
    });
    const type = res.headers.get('content-type') ?? '';
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body ?? []) {
      text += decoder.decode(chunk, { stream: true });
      if (/^event: run$/m.test(text) && /^data: /m.test(text)) break;
    }
    return { status: res.status, type, text };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

async function drive(base: string, name: string): Promise<void> {
  const business = `check-${name}-${process.pid}`;
  const leads = (n: number, from: number) =>
    Array.from({ length: n }, (_, i) => ({ to: `+1415555${String(from + i).padStart(4, '0')}` }));
  const first = { businessId: business, concurrency: 2, runId: `${business}-a`, leads: leads(6, 2101) };

  // The API asks for the dashboard's login: a run posted without it starts nothing.
  const intruder = { ...first, runId: `${business}-anonymous` };
  const anonymousStart = await call(base, 'POST', '/runs', { json: intruder, anonymous: true });
  expect(
    anonymousStart.status === 401 &&
      anonymousStart.headers.get('www-authenticate') === 'Basic realm="outbound-queue"' &&
      field(anonymousStart, 'error') === 'UNAUTHORIZED',
    'POST /runs without a login: 401 with WWW-Authenticate',
    {
      status: anonymousStart.status,
      headers: Object.fromEntries(anonymousStart.headers),
      body: anonymousStart.body,
    },
  );
  const wrongStart = await call(base, 'POST', '/runs', {
    json: intruder,
    headers: { authorization: `Basic ${Buffer.from('admin:guess').toString('base64')}` },
  });
  expect(wrongStart.status === 401, 'POST /runs with a wrong password: 401', wrongStart);
  const notStarted = await call(base, 'GET', `/runs/${encodeURIComponent(intruder.runId)}`);
  expect(notStarted.status === 404, 'the refused POST /runs started nothing', notStarted);
  const noRuns = await call(base, 'GET', '/dashboard/api/runs');
  expect(
    noRuns.status === 200 && (field(noRuns, 'runs') as unknown[] | undefined)?.length === 0,
    'no run at all after the refused POSTs',
    noRuns,
  );

  // The API and its error mapping.
  const created = await call(base, 'POST', '/runs', { json: first });
  expect(
    created.status === 201 && field(created, 'created') === true,
    'POST /runs: 201 for a new run',
    created,
  );
  const again = await call(base, 'POST', '/runs', { json: first });
  expect(again.status === 200 && field(again, 'created') === false, 'the same runId again: 200', again);
  const conflict = await call(base, 'POST', '/runs', { json: { ...first, leads: leads(6, 2111) } });
  expect(
    conflict.status === 409 && field(conflict, 'error') === 'IDEMPOTENCY_CONFLICT',
    'the same runId with other leads: 409 IDEMPOTENCY_CONFLICT',
    conflict,
  );
  const invalid = await call(base, 'POST', '/runs', {
    json: { businessId: business, concurrency: 2, leads: [{ to: '+14155552301' }, { to: 'x' }] },
  });
  const issues = field(invalid, 'issues');
  expect(
    invalid.status === 400 &&
      field(invalid, 'error') === 'VALIDATION' &&
      Array.isArray(issues) &&
      issues.some((issue: Body) => issue.row === 1),
    'a bad lead: 400 VALIDATION naming its row',
    invalid,
  );
  const notJson = await call(base, 'POST', '/runs', {
    headers: { 'content-type': 'application/json' },
    json: undefined,
  });
  expect(notJson.status === 400, 'POST /runs with no body: 400', notJson);
  const plain = await call(base, 'POST', '/runs', {
    headers: { 'content-type': 'text/plain' },
    text: JSON.stringify({ ...first, runId: `${business}-plain` }),
  });
  expect(
    plain.status === 415 && field(plain, 'error') === 'UNSUPPORTED_MEDIA_TYPE',
    'POST /runs with a text/plain body: 415 UNSUPPORTED_MEDIA_TYPE',
    plain,
  );
  const form = await call(base, 'POST', '/runs', { form: { businessId: business } });
  expect(
    form.status === 415 && field(form, 'error') === 'UNSUPPORTED_MEDIA_TYPE',
    'POST /runs with a form body: 415 UNSUPPORTED_MEDIA_TYPE',
    form,
  );
  const plainRun = await call(base, 'GET', `/runs/${encodeURIComponent(`${business}-plain`)}`);
  expect(plainRun.status === 404, 'the refused text/plain body started nothing', plainRun);
  const missing = await call(base, 'GET', '/runs/nope');
  expect(missing.status === 404 && field(missing, 'error') === 'NOT_FOUND', 'GET /runs/nope: 404', missing);
  const noRoute = await call(base, 'GET', '/no-such-route');
  expect(
    noRoute.status === 404 && typeof field(noRoute, 'message') === 'string',
    'an unknown route: 404 JSON',
    noRoute,
  );

  const second = await call(base, 'POST', '/runs', {
    json: { businessId: `${business}-b`, concurrency: 1, leads: leads(20, 2201) },
  });
  expect(second.status === 201, 'a second run: 201', second);
  const secondId = String(field(second, 'runId'));

  // The dashboard, while both runs are live.
  const root = await call(base, 'GET', '/');
  expect(
    root.status >= 300 && root.status < 400 && root.headers.get('location')?.endsWith('/dashboard/') === true,
    'GET /: a redirect to /dashboard/',
    { status: root.status, location: root.headers.get('location') },
  );
  const anonymous = await call(base, 'GET', '/dashboard/', { anonymous: true });
  expect(
    anonymous.status === 401 && anonymous.headers.get('www-authenticate') === 'Basic realm="outbound-queue"',
    'the dashboard without a login: 401 with WWW-Authenticate',
    { status: anonymous.status, headers: Object.fromEntries(anonymous.headers) },
  );
  const wrong = await call(base, 'GET', '/dashboard/', {
    headers: { authorization: `Basic ${Buffer.from('admin:guess').toString('base64')}` },
  });
  expect(wrong.status === 401, 'the dashboard with a wrong password: 401', wrong.status);
  const page = await call(base, 'GET', '/dashboard/');
  expect(
    page.status === 200 &&
      (page.headers.get('content-type') ?? '').startsWith('text/html') &&
      String(page.body).includes('<html'),
    'the dashboard with the login: 200 HTML',
    { status: page.status, type: page.headers.get('content-type') },
  );
  const listed = await call(base, 'GET', '/dashboard/api/runs');
  const ids = ((field(listed, 'runs') as Body[] | undefined) ?? []).map((run) => run.runId);
  expect(
    listed.status === 200 && ids.includes(first.runId) && ids.includes(secondId),
    'GET /dashboard/api/runs lists both runs',
    listed,
  );
  // A JSON body must reach the dashboard unread: no body parser of the framework's before it.
  const viaDashboard = await call(base, 'POST', '/dashboard/api/runs', {
    json: { businessId: `${business}-c`, concurrency: 1, leads: leads(1, 2301), runId: `${business}-c` },
  });
  expect(
    viaDashboard.status === 201 && field(viaDashboard, 'runId') === `${business}-c`,
    'POST /dashboard/api/runs: 201 (its JSON body reached the dashboard)',
    viaDashboard,
  );
  const events = await firstRunEvent(base);
  expect(
    events.status === 200 && events.type.startsWith('text/event-stream') && /^event: run$/m.test(events.text),
    'GET /dashboard/api/events streams a run message',
    events,
  );
  const forged = await call(base, 'POST', `/dashboard/api/runs/${encodeURIComponent(secondId)}/pause`, {
    headers: { origin: 'http://evil.example' },
    json: {},
  });
  expect(forged.status === 403, 'a cross-origin POST to the dashboard: 403', forged);
  const untouched = await call(base, 'GET', `/runs/${encodeURIComponent(secondId)}`);
  expect(field(untouched, 'status') === 'running', 'the refused POST changed nothing', untouched);

  // Reading and stopping ask for the login too.
  const anonymousRead = await call(base, 'GET', `/runs/${encodeURIComponent(secondId)}`, { anonymous: true });
  expect(anonymousRead.status === 401, 'GET /runs/:id without a login: 401', anonymousRead);
  const anonymousStop = await call(base, 'POST', `/runs/${encodeURIComponent(secondId)}/stop`, {
    json: { hangup: true },
    anonymous: true,
  });
  expect(anonymousStop.status === 401, 'POST /runs/:id/stop without a login: 401', anonymousStop);
  const plainStop = await call(base, 'POST', `/runs/${encodeURIComponent(secondId)}/stop`, {
    headers: { 'content-type': 'text/plain' },
    text: '{"hangup":true}',
  });
  expect(
    plainStop.status === 415 && field(plainStop, 'error') === 'UNSUPPORTED_MEDIA_TYPE',
    'POST /runs/:id/stop with a text/plain body: 415',
    plainStop,
  );
  const stillRunning = await call(base, 'GET', `/runs/${encodeURIComponent(secondId)}`);
  expect(field(stillRunning, 'status') === 'running', 'the refused stops changed nothing', stillRunning);

  // Stopping, twice.
  const stopped = await call(base, 'POST', `/runs/${encodeURIComponent(secondId)}/stop`, {
    json: { hangup: true },
  });
  expect(
    stopped.status === 200 && field(stopped, 'status') === 'stopped',
    'POST /runs/:id/stop with hangup: stopped',
    stopped,
  );
  // The queue's stop is idempotent: a stopped run answers its summary again, not an InvalidStateError.
  const twice = await call(base, 'POST', `/runs/${encodeURIComponent(secondId)}/stop`, { json: {} });
  expect(
    twice.status === 200 && field(twice, 'status') === 'stopped',
    'stopping a stopped run again: 200, still stopped',
    twice,
  );
  const badStop = await call(base, 'POST', `/runs/${encodeURIComponent(secondId)}/stop`, {
    json: { hangup: 'yes' },
  });
  expect(badStop.status === 400, 'a stop with a hangup that is not a boolean: 400', badStop);
  // The dashboard's resume of a stopped run is the queue's InvalidStateError.
  const resume = await call(base, 'POST', `/dashboard/api/runs/${encodeURIComponent(secondId)}/resume`, {
    json: {},
  });
  expect(
    resume.status === 409 && field(resume, 'error') === 'INVALID_STATE',
    'resuming a stopped run: 409',
    resume,
  );

  const done = await waitForRun(base, first.runId, (run) => run.status === 'completed', 30_000);
  const counts = done.counts as Record<string, number>;
  const ended = counts.completed! + counts.busy! + counts.no_answer!;
  expect(ended === 6 && done.active === 0, 'the first run completes, every call ended', done);

  const webhook = await call(base, 'POST', '/webhooks/twilio/status', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    anonymous: true,
  });
  expect(
    webhook.status === 404 && typeof field(webhook, 'message') === 'string',
    'the webhook in simulated mode: 404',
    webhook,
  );
}

/**
 * Posts status callbacks as Twilio does (no login), signed with the auth token over the public URL;
 * then checks the rest stays behind the login, and that the dashboard takes POSTs from PUBLIC_URL's
 * origin (the tunnel's), which is not the one the request arrives with. No call is placed.
 */
async function driveWebhook(base: string): Promise<void> {
  const path = '/webhooks/twilio/status?jobId=no-such-job&lockToken=stale';
  const params = { CallSid: `CA${'0'.repeat(32)}`, CallStatus: 'completed', CallDuration: '3' };
  const post = (signature: string) =>
    call(base, 'POST', path, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      form: params,
      anonymous: true,
    });
  const { TWILIO_AUTH_TOKEN: token, PUBLIC_URL: publicUrl } = TWILIO_ENV;
  const signed = await post(twilio.getExpectedTwilioSignature(token, publicUrl + path, params));
  // An event about a job the queue does not know is stale: taken and ignored, as Twilio needs.
  expect(signed.status === 204, 'a signed status callback: 204 (its form body reached the handler)', signed);
  const forged = await post(twilio.getExpectedTwilioSignature('another-token', publicUrl + path, params));
  expect(forged.status === 403, 'a callback with a wrong signature: 403', forged);

  const anonymousStart = await call(base, 'POST', '/runs', {
    json: { businessId: 'check-twilio', concurrency: 1, leads: [{ to: '+14155550199' }] },
    anonymous: true,
  });
  expect(
    anonymousStart.status === 401 && anonymousStart.headers.get('www-authenticate') !== null,
    'Twilio mode: POST /runs without a login: 401',
    anonymousStart,
  );
  // A harmless POST (an unknown run): past the CSRF check it is a 404, refused there a 403.
  const pausePath = '/dashboard/api/runs/no-such-run/pause';
  const fromTunnel = await call(base, 'POST', pausePath, { headers: { origin: publicUrl }, json: {} });
  expect(
    fromTunnel.status === 404,
    "Twilio mode: a dashboard POST from PUBLIC_URL's origin passes the CSRF check (404 for an unknown run)",
    fromTunnel,
  );
  const fromElsewhere = await call(base, 'POST', pausePath, {
    headers: { origin: 'https://evil.example' },
    json: {},
  });
  expect(
    fromElsewhere.status === 403,
    'Twilio mode: a dashboard POST from another origin: 403',
    fromElsewhere,
  );
}
