import { DashboardApi } from './dashboard-api.js';
import { type DashboardHandlerOptions, dashboardSettings } from './dashboard-options.js';
import { DashboardHttpError, errorBody, errorResponse } from './error-response.js';
import { dashboardResponse, jsonResponse } from './http-responses.js';
import { type LiveEventsSettings, liveEventsResponse } from './live-events.js';
import { type PageAssets, pageAssets } from './page-assets.js';
import { checkSameOrigin, refusal } from './request-guards.js';
import { RunChanges } from './run-changes.js';

/** A web-standard route handler: `Request` in, `Response` out. */
export type DashboardHandler = (request: Request) => Promise<Response>;

/** What answers one method of one route. */
type Action = () => Response | Promise<Response>;

/** The actions of one route, by method. */
type Route = Partial<Record<'GET' | 'POST', Action>>;

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
  const changes = new RunChanges();
  const api = new DashboardApi(settings.queue, changes);
  const assets = pageAssets(settings.title);
  const { queue, logger, refreshMs, pingMs } = settings;
  const live: LiveEventsSettings = { queue, changes, logger, refreshMs, pingMs };

  return async (request) => {
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
      const action = route[request.method as keyof Route];
      if (action === undefined) {
        const allow = Object.keys(route).join(', ');
        throw new DashboardHttpError(405, 'METHOD_NOT_ALLOWED', `use ${allow}`, { allow });
      }
      if (request.method === 'POST') checkSameOrigin(request, [url.origin, ...settings.origins]);
      return await action();
    } catch (err) {
      return errorResponse(err, settings.logger, { method: request.method, path: url.pathname });
    }
  };
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
  live: LiveEventsSettings;
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
    if (kind === 'events') return { GET: () => liveEventsResponse(request, ctx.live) };
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
