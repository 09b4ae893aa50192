/**
 * outbound-queue in a Fastify 5 app: `npx tsx examples/fastify/server.ts`, then open
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
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
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

const { queue, mode, twilioWebhook, publicUrl, close } = await createExampleQueue('fastify');
const login = dashboardLogin();
// publicUrl (Twilio mode): the page's POSTs come from the tunnel's origin, not the one Fastify sees.
const dashboard = createDashboardHandler({
  queue,
  basePath: '/dashboard',
  authorize: basicAuth(login),
  publicUrl,
});

const app = Fastify({ bodyLimit: 10 * 1024 * 1024 });

// Set before the plugin below is registered, so that its routes inherit it. Fastify's own errors
// (a malformed JSON body, an unsupported content type) carry a 4xx `statusCode`, kept as it is.
app.setErrorHandler((err, _request, reply) => {
  const { status, body } = toErrorAnswer(err);
  return reply.code(status).send(body);
});
app.setNotFoundHandler((request) => {
  throw new HttpError(404, `no route for ${request.method} ${request.url.split('?')[0]}`);
});

/** A Fastify route answered by a web-standard handler, which reads the raw request itself. */
function webHandler(handler: (request: Request) => Promise<Response>) {
  const node = toNodeHandler(handler);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await node(request.raw, reply.raw);
  };
}

// Encapsulated: the dashboard and the webhook read (and size-limit) the body themselves, so in
// here no parser reads it first.
await app.register(async (raw) => {
  raw.removeAllContentTypeParsers();
  raw.addContentTypeParser('*', (_request, _payload, done) => done(null));
  raw.all('/dashboard', webHandler(dashboard));
  raw.all('/dashboard/*', webHandler(dashboard));
  raw.post(
    '/webhooks/twilio/status',
    twilioWebhook
      ? webHandler(twilioWebhook)
      : async () => {
          throw new HttpError(404, 'Twilio is not configured (see README.md)');
        },
  );
});

app.get('/', (_request, reply) => reply.redirect('/dashboard/'));

// Encapsulated too: the hooks below guard the /runs routes only.
await app.register(async (api) => {
  const allows = loginCheck(login);
  // The first hook of a request: without the login, nothing of it is read.
  api.addHook('onRequest', async (request, reply) => {
    if (allows(request.headers.authorization)) return;
    return reply.code(LOGIN_REQUIRED.status).headers(LOGIN_REQUIRED.headers).send(LOGIN_REQUIRED.body);
  });
  // Before the parsers: Fastify would parse a text/plain body as a string, not refuse it.
  api.addHook('preParsing', async (request) => {
    if (hasBody(request.headers)) requireJsonContentType(request.headers['content-type']);
  });

  api.post('/runs', async (request, reply) => {
    // The queue validates the whole input (numbers, concurrency, duplicates) and names bad rows.
    const run = await queue.startRun(startRunBody(request.body));
    // Retrying a POST with the same runId is safe: the client gets the existing run, not a copy.
    return reply.code(run.created ? 201 : 200).send(run);
  });

  api.get<{ Params: { id: string } }>('/runs/:id', async (request) => queue.getRun(request.params.id));

  api.post<{ Params: { id: string } }>('/runs/:id/stop', async (request) =>
    queue.stop(request.params.id, stopBody(request.body)),
  );
});

await app.listen({ port: Number(process.env.PORT ?? 3000) });
// The port actually bound: with PORT=0 the system picks a free one (scripts/check-examples.ts).
const { port } = app.server.address() as AddressInfo;
console.log(`fastify example on http://localhost:${port} (${mode} calls)`);
console.log(`dashboard: http://localhost:${port}/dashboard/ (${describeLogin(login)})`);

closeOnSignals({ server: app.server, closeServer: () => app.close(), closeQueue: close });
