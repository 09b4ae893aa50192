import { DashboardApi } from './dashboard-api.js';
import { type DashboardHandlerOptions, dashboardSettings } from './dashboard-options.js';
import { DashboardHttpError, errorBody, errorResponse } from './error-response.js';
import { dashboardResponse, jsonResponse } from './http-responses.js';
import { LiveEvents } from './live-events.js';
import { type PageAssets, pageAssets } from './page-assets.js';
import { checkSameOrigin, refusal } from './request-guards.js';

/** A web-standard route handler: `Request` in, `Response` out. */
export type DashboardHandler = (request: Request) => Promise<Response>;

/** What answers one method of one route. */
type Action = () => Response | Promise<Response>;

/** The actions of one route, by method. */
type Route = Partial<Record<'GET' | 'POST', Action>> & {
  /** Set on a route whose GET has no HEAD (the event stream): a HEAD answers 405 there. */
  noHead?: true;
};

/**
 * Serves the dashboard: the page, its script and styles, and its JSON and Server-Sent-Events
 * API, under `basePath`. Every request is first put to `authorize`; POSTs must be same-origin
 * JSON (see docs/dashboard.md). Mount it directly in Hono, Bun, Deno or a worker; in node:http
 * or Express through {@link toNodeHandler}.
 * @param options - the queue, `authorize`, the mount path and the page's title
 * @returns the handler
 * @throws `ValidationError` (from `outbound-queue`) naming each bad option: a missing `authorize`
 *   or queue, a bad `basePath`, title, timing or `publicUrl`
 * @example
 * ```ts
 * const dashboard = createDashboardHandler({
 *   queue,
 *   basePath: '/dashboard',
 *   authorize: (request) => request.headers.get('authorization') === `Bearer ${process.env.ADMIN_TOKEN}`,
 * });
 * app.all('/dashboard/*', (c) => dashboard(c.req.raw)); // Hono
 * ```
 */
export function createDashboardHandler(options: DashboardHandlerOptions): DashboardHandler {
  const settings = dashboardSettings(options);
  const api = new DashboardApi(settings.queue);
  const assets = pageAssets(settings.title);
  const { queue, logger, refreshMs, pingMs } = settings;
  const live = new LiveEvents({ queue, logger, refreshMs, pingMs });

  const answer = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const rest = pathWithin(url.pathname, settings.basePath);
    if (rest === undefined) return notFound();
    try {
      const refused = await refusal(settings.authorize, request, settings.logger);
      if (refused) return refused;
      // The page's URLs are relative: they must resolve under the base path's slash.
      if (rest === REDIRECT)
        return dashboardResponse(null, 308, { location: `${url.pathname}/${url.search}` });
      const route = routeOf(segmentsOf(rest), { request, url, api, assets, live });
      if (route === undefined) return notFound();
      const head = request.method === 'HEAD' && route.noHead === undefined;
      const action = head ? route.GET : methodAction(route, request.method);
      if (action === undefined) {
        const allow = allowed(route).join(', ');
        throw new DashboardHttpError(405, 'METHOD_NOT_ALLOWED', `use ${allow}`, { allow });
      }
      if (request.method === 'POST') checkSameOrigin(request, [url.origin, ...settings.origins]);
      return head ? await measuredHead(await action()) : await action();
    } catch (err) {
      return errorResponse(err, settings.logger, { method: request.method, path: url.pathname });
    }
  };
  // A HEAD is answered as its GET would be, without the body: refusals and errors included.
  return async (request) => {
    const response = await answer(request);
    return request.method === 'HEAD' ? withoutBody(response) : response;
  };
}

/** The action of a route for a method other than HEAD. */
function methodAction(route: Route, method: string): Action | undefined {
  return method === 'GET' || method === 'POST' ? route[method] : undefined;
}

/** The methods a route answers, for `Allow`: HEAD with each GET but the event stream's. */
function allowed(route: Route): string[] {
  const methods: string[] = [];
  if (route.GET) methods.push('GET');
  if (route.GET && route.noHead === undefined) methods.push('HEAD');
  if (route.POST) methods.push('POST');
  return methods;
}

/**
 * A GET's answer (the page, an asset, JSON: all of them whole in memory) as HEAD sends it: with the
 * length of the body it leaves out.
 */
async function measuredHead(response: Response): Promise<Response> {
  if (response.body === null) return response;
  const length = (await response.arrayBuffer()).byteLength;
  const headers = new Headers(response.headers);
  headers.set('content-length', String(length));
  return new Response(null, { status: response.status, statusText: response.statusText, headers });
}

/** An answer without its body (a host's `Response` from `authorize` is not read, only canceled). */
async function withoutBody(response: Response): Promise<Response> {
  // Another realm's or a polyfill's `Response` is left as it is: the server drops a HEAD's body.
  if (response.body === null || !(response instanceof Response)) return response;
  await response.body.cancel();
  return new Response(null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** {@link pathWithin}'s answer for the base path without its trailing slash. */
const REDIRECT = Symbol('redirect');

/** The path below `basePath` (`''` for the page), {@link REDIRECT}, or undefined outside it. */
function pathWithin(pathname: string, basePath: string): string | typeof REDIRECT | undefined {
  if (basePath === '/') return pathname.slice(1);
  if (pathname === basePath) return REDIRECT;
  return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length + 1) : undefined;
}

function segmentsOf(rest: string): string[] {
  if (rest === '') return [];
  try {
    return rest.split('/').map(decodeURIComponent);
  } catch {
    throw new DashboardHttpError(400, 'BAD_REQUEST', 'the path is not percent-encoded UTF-8');
  }
}

interface RouteContext {
  request: Request;
  url: URL;
  api: DashboardApi;
  assets: PageAssets;
  live: LiveEvents;
}

/** The route of a path below the base path, split in segments; undefined for none. */
function routeOf(segments: string[], ctx: RouteContext): Route | undefined {
  const { request, url, api, assets } = ctx;
  if (segments.some((segment) => segment === '')) return undefined;
  const [area, kind, id, action, ...more] = segments;
  if (area === undefined) return { GET: () => assets.page() };
  if (more.length > 0) return undefined;
  if (area === 'assets' && kind !== undefined && id === undefined) {
    if (kind === 'dashboard.css') return { GET: () => assets.styles() };
    const script = assets.scripts.get(kind);
    return script === undefined ? undefined : { GET: script };
  }
  if (area !== 'api' || kind === undefined) return undefined;
  if (id === undefined) {
    if (kind === 'runs') return { GET: () => api.listRuns(url), POST: () => api.startRun(request) };
    if (kind === 'events') return { GET: () => ctx.live.response(request), noHead: true };
    return undefined;
  }
  if (kind === 'runs') {
    if (action === undefined) return { GET: () => api.getRun(id) };
    if (action === 'jobs') return { GET: () => api.listJobs(id, url) };
    if (action === 'pause') return { POST: () => api.pause(id) };
    if (action === 'resume') return { POST: () => api.resume(id) };
    if (action === 'stop') return { POST: () => api.stop(id, request) };
    return undefined;
  }
  if (action !== undefined) return undefined;
  if (kind === 'jobs') return { GET: () => api.getJob(id) };
  if (kind === 'businesses') return { GET: () => api.getBusiness(id) };
  return undefined;
}

function notFound(): Response {
  return jsonResponse(errorBody('NOT_FOUND', 'no such page or route'), 404);
}
