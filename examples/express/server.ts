/**
 * outbound-queue in an Express 5 app: `npx tsx examples/express/server.ts`, then open
 * http://localhost:3000 (see README.md). Routes:
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
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { createDashboardHandler, toNodeHandler } from 'outbound-queue/dashboard';
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

const { queue, mode, twilioWebhook, publicUrl, close } = await createExampleQueue('express');
const login = dashboardLogin();
// publicUrl (Twilio mode): the page's POSTs come from the tunnel's origin, not the one Express sees.
const dashboard = createDashboardHandler({
  queue,
  basePath: '/dashboard',
  authorize: basicAuth(login),
  publicUrl,
});

const app = express();

/** The API's guard: the dashboard's login, or 401 with `WWW-Authenticate`. */
const allows = loginCheck(login);
const requireLogin: RequestHandler = (req, res, next) => {
  if (allows(req.get('authorization'))) return next();
  res.status(LOGIN_REQUIRED.status).set(LOGIN_REQUIRED.headers).json(LOGIN_REQUIRED.body);
};

// Parsed only where JSON is expected: the dashboard and the webhook read the raw body themselves.
// Another content type is a 415 first: express.json() would skip it, leaving the route no body.
const parseJson = express.json({ limit: '10mb' });
// Typed on node's request, as express.json() is, so that a route's params keep their inferred type.
const json = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
  if (hasBody(req.headers)) requireJsonContentType(req.headers['content-type']);
  parseJson(req, res, next);
};

app.get('/', (_req, res) => res.redirect('/dashboard/'));
// toNodeHandler rebuilds the URL from req.originalUrl, so the dashboard sees its /dashboard prefix.
app.use('/dashboard', toNodeHandler(dashboard));

app.post(
  '/webhooks/twilio/status',
  twilioWebhook
    ? toNodeHandler(twilioWebhook)
    : () => {
        throw new HttpError(404, 'Twilio is not configured (see README.md)');
      },
);

// In front of every /runs route (and /runs/... paths that match none, which answer 401, not 404).
app.use('/runs', requireLogin);

app.post('/runs', json, async (req, res) => {
  // The queue validates the whole input (numbers, concurrency, duplicates) and names bad rows.
  const run = await queue.startRun(startRunBody(req.body));
  // Retrying a POST with the same runId is safe: the client gets the existing run, not a copy.
  res.status(run.created ? 201 : 200).json(run);
});

app.get('/runs/:id', async (req, res) => {
  res.json(await queue.getRun(req.params.id));
});

app.post('/runs/:id/stop', json, async (req, res) => {
  res.json(await queue.stop(req.params.id, stopBody(req.body)));
});

app.use((req) => {
  throw new HttpError(404, `no route for ${req.method} ${req.path}`);
});

// Express 5 passes a rejected promise of a route here, as it does a thrown error.
const answerError: ErrorRequestHandler = (err, _req, res, next) => {
  if (res.headersSent) return next(err);
  const { status, body } = toErrorAnswer(err);
  res.status(status).json(body);
};
app.use(answerError);

const server = app.listen(Number(process.env.PORT ?? 3000), (err) => {
  if (err) throw err;
  // The port actually bound: with PORT=0 the system picks a free one (scripts/check-examples.ts).
  const { port } = server.address() as AddressInfo;
  console.log(`express example on http://localhost:${port} (${mode} calls)`);
  console.log(`dashboard: http://localhost:${port}/dashboard/ (${describeLogin(login)})`);
});

closeOnSignals({ server, closeQueue: close });
