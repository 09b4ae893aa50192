/**
 * outbound-queue in a Hono app on Node (`@hono/node-server`): `npx tsx examples/hono/server.ts`,
 * then open http://localhost:3000 (see README.md). Routes:
 *
 *   POST /runs                      start a run (JSON StartRunInput): 201, or 200 when `runId` named the same run
 *   GET  /runs/:id                  the run's progress (RunSummary)
 *   POST /runs/:id/stop             stop it (JSON, optional: { "hangup": true })
 *   POST /webhooks/twilio/status    Twilio's status callbacks, signature checked (Twilio mode only)
 *   /dashboard/                     the dashboard
 *   GET  /                          redirects to /dashboard/
 *
 * The /runs routes and the dashboard ask for one login (HTTP Basic auth): both place calls. Only
 * the webhook is open, as Twilio sends no login; its signature is checked instead.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { createDashboardHandler } from 'outbound-queue/dashboard';
import {
  basicAuth,
  dashboardLogin,
  describeLogin,
  LOGIN_REQUIRED,
  loginCheck,
} from '../shared/dashboard-login.js';
import { HttpError, toErrorAnswer } from '../shared/http-errors.js';
import { createExampleQueue } from '../shared/queue-setup.js';
import { hasBody, requireJsonContentType, startRunBody, stopBody } from '../shared/request-bodies.js';
import { closeOnSignals } from '../shared/shutdown.js';

const { queue, mode, twilioWebhook, publicUrl, close } = await createExampleQueue('hono');
const login = dashboardLogin();
// publicUrl (Twilio mode): the page's POSTs come from the tunnel's origin, not the one Hono sees.
const dashboard = createDashboardHandler({
  queue,
  basePath: '/dashboard',
  authorize: basicAuth(login),
  publicUrl,
});

const app = new Hono();

/** The API's guard: the dashboard's login, or 401 with `WWW-Authenticate`. */
const allows = loginCheck(login);
const requireLogin = createMiddleware(async (c, next) => {
  if (!allows(c.req.header('authorization'))) {
    return c.json(LOGIN_REQUIRED.body, LOGIN_REQUIRED.status, LOGIN_REQUIRED.headers);
  }
  await next();
});

// The API routes' body limit; the dashboard and the webhook enforce their own.
const limit = bodyLimit({
  maxSize: 10 * 1024 * 1024,
  onError: () => {
    throw new HttpError(413, 'the body is over 10 MB');
  },
});

/** The request's JSON body (undefined when empty); 415 for another content type, 400 for bad JSON. */
async function jsonBody(c: Context): Promise<unknown> {
  // Refused before it is read, as in the Express and Fastify examples.
  const headers = {
    'content-length': c.req.header('content-length'),
    'transfer-encoding': c.req.header('transfer-encoding'),
  };
  if (hasBody(headers)) requireJsonContentType(c.req.header('content-type'));
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

app.get('/', (c) => c.redirect('/dashboard/'));
// Web-standard handlers take Hono's Request as it is, unread.
app.all('/dashboard', (c) => dashboard(c.req.raw));
app.all('/dashboard/*', (c) => dashboard(c.req.raw));

app.post('/webhooks/twilio/status', (c) => {
  if (!twilioWebhook) throw new HttpError(404, 'Twilio is not configured (see README.md)');
  return twilioWebhook(c.req.raw);
});

// In front of the routes it guards: Hono's `/runs/*` matches /runs itself too.
app.use('/runs/*', requireLogin);

app.post('/runs', limit, async (c) => {
  // The queue validates the whole input (numbers, concurrency, duplicates) and names bad rows.
  const run = await queue.startRun(startRunBody(await jsonBody(c)));
  // Retrying a POST with the same runId is safe: the client gets the existing run, not a copy.
  return c.json(run, run.created ? 201 : 200);
});

app.get('/runs/:id', async (c) => c.json(await queue.getRun(c.req.param('id'))));

app.post('/runs/:id/stop', limit, async (c) =>
  c.json(await queue.stop(c.req.param('id'), stopBody(await jsonBody(c)))),
);

app.notFound((c) => {
  throw new HttpError(404, `no route for ${c.req.method} ${c.req.path}`);
});

app.onError((err, c) => {
  const { status, body } = toErrorAnswer(err);
  return c.json(body, status as ContentfulStatusCode);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, ({ port }) => {
  // The port actually bound: with PORT=0 the system picks a free one (scripts/check-examples.ts).
  console.log(`hono example on http://localhost:${port} (${mode} calls)`);
  console.log(`dashboard: http://localhost:${port}/dashboard/ (${describeLogin(login)})`);
});

// serve() makes a node:http server unless told otherwise.
closeOnSignals({ server: server as Server, closeQueue: close });
