import { ValidationError, type ValidationIssue } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DashboardQueue } from './dashboard-queue.js';
import type { DashboardAuthorize } from './request-guards.js';

/** Options of `createDashboardHandler`. */
export interface DashboardHandlerOptions {
  /** The queue the page shows and controls (an `OutboundQueue`). */
  queue: DashboardQueue;
  /**
   * Called for every request, page and API alike (required: there is no open admin page):
   * `true` lets it in, `false` refuses it with 403, a `Response` is sent as it is (a 401 with
   * `WWW-Authenticate`, say). A throw answers 500 and is logged. A refused request changes nothing.
   */
  authorize: DashboardAuthorize;
  /** Where the handler is mounted (default `'/'`); every route is under it. */
  basePath?: string;
  /** The page's title (default `'outbound-queue'`). */
  title?: string;
  /** Where failures are logged (default: `console.warn` and `console.error`, nothing else). */
  logger?: Logger;
  /** How often an event stream reads the live runs again, in ms (default 2,000; at least 100). */
  refreshMs?: number;
  /** How often an event stream sends a `: ping` comment, in ms (default 15,000; at least 100). */
  pingMs?: number;
  /**
   * The public origin of the dashboard when a proxy in front of the host changes the scheme or
   * host the request arrives with (`https://ops.example.com`): POSTs from it are accepted too.
   */
  publicUrl?: string;
}

/** The options checked, defaults filled in. */
export interface DashboardSettings {
  queue: DashboardQueue;
  authorize: DashboardAuthorize;
  basePath: string;
  title: string;
  logger: Logger;
  refreshMs: number;
  pingMs: number;
  /** Origins besides the request's own that may POST. */
  origins: string[];
}

const noop = (): void => {};

/** The default logger: failures to the console, nothing else. */
const consoleLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

/** A path segment of a URL, percent-encoded, not `.` or `..`. */
const SEGMENT = /^(?!\.\.?$)[A-Za-z0-9\-._~!$&'()*+,;=:@%]+$/;

/** The queue's methods the dashboard calls. */
const QUEUE_METHODS: readonly (keyof DashboardQueue)[] = [
  'startRun',
  'getRun',
  'listRuns',
  'listJobs',
  'getJob',
  'pause',
  'resume',
  'stop',
  'getBusiness',
  'on',
  'off',
];

/**
 * Checks the options of `createDashboardHandler` and fills in the defaults.
 * @param options - the options as given
 * @returns the settings
 * @throws {@link ValidationError} naming each bad option
 */
export function dashboardSettings(options: DashboardHandlerOptions): DashboardSettings {
  const issues: ValidationIssue[] = [];
  const given = (options ?? {}) as Partial<Record<keyof DashboardHandlerOptions, unknown>>;
  const queue = given.queue as Record<string, unknown> | undefined;
  const missing = QUEUE_METHODS.filter((name) => typeof queue?.[name] !== 'function');
  if (missing.length > 0) {
    issues.push({ field: 'queue', message: `must be an OutboundQueue (lacks ${missing.join(', ')})` });
  }
  if (typeof given.authorize !== 'function') {
    issues.push({
      field: 'authorize',
      message: 'is required: a function of the request that returns true, false or a Response',
    });
  }
  const basePath = normalBasePath(given.basePath === undefined ? '/' : given.basePath);
  if (basePath === undefined) {
    issues.push({ field: 'basePath', message: `is not a URL path (got ${JSON.stringify(given.basePath)})` });
  }
  const title = given.title === undefined ? 'outbound-queue' : given.title;
  if (typeof title !== 'string') issues.push({ field: 'title', message: 'must be a string' });
  const refreshMs = period(issues, 'refreshMs', given.refreshMs, 2000);
  const pingMs = period(issues, 'pingMs', given.pingMs, 15_000);
  const origins: string[] = [];
  if (given.publicUrl !== undefined) {
    const origin = originOf(given.publicUrl);
    if (origin === undefined) issues.push({ field: 'publicUrl', message: 'must be an absolute http(s) URL' });
    else origins.push(origin);
  }
  if (given.logger !== undefined && typeof (given.logger as Partial<Logger>).error !== 'function') {
    issues.push({ field: 'logger', message: 'must be a Logger (debug, info, warn, error)' });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    queue: options.queue,
    authorize: options.authorize,
    basePath: basePath as string,
    title: title as string,
    logger: options.logger ?? consoleLogger,
    refreshMs,
    pingMs,
    origins,
  };
}

/**
 * `basePath` with one leading slash and no trailing one (`'/'` for the root).
 * @returns undefined when it is not a path of URL segments
 */
function normalBasePath(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const segments = value.replace(/^\/+/, '').replace(/\/+$/, '');
  if (segments === '') return '/';
  return segments.split('/').every((segment) => SEGMENT.test(segment)) ? `/${segments}` : undefined;
}

function period(issues: ValidationIssue[], field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 100 && value <= 2 ** 31 - 1)
    return value;
  issues.push({ field, message: `must be a number of ms from 100 to ${2 ** 31 - 1}` });
  return fallback;
}

function originOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
