import { ValidationError } from '../errors.js';
import type { BusinessSummary, Job, JobStatus, RunStatus, RunSummary, StartRunInput } from '../types.js';
import { type BusinessLoad, businessLoad } from './business-load.js';
import type { DashboardQueue } from './dashboard-queue.js';
import { jsonResponse } from './http-responses.js';
import { readJsonBody } from './request-guards.js';

/** One page of `GET api/runs`. */
export interface RunsPage {
  /** Runs, newest first, with their counts per job status (without `waiting`). */
  runs: RunSummary[];
  /** The `after` of the next page; absent on the last page. */
  next?: string;
}

/** One page of `GET api/runs/:runId/jobs`. */
export interface JobsPage {
  /** Jobs in lead order (without `attempts`). */
  jobs: Job[];
  /** The `after` of the next page; absent on the last page. */
  next?: string;
}

/** What `GET api/businesses/:businessId` answers: the business's summary and its load. */
export type BusinessView = BusinessSummary & BusinessLoad;

/** Page size of the list routes when `limit` is not given. */
const DEFAULT_PAGE = 100;
/** Largest page the queue serves. */
const MAX_PAGE = 1000;

/** An ISO 8601 date and time with its zone (`Z` or an offset): a time without one is ambiguous. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The dashboard's JSON routes: each reads its arguments from the request, calls the queue's public
 * API, and answers JSON. The queue's errors are left to the caller to answer.
 */
export class DashboardApi {
  /**
   * @param queue - the queue (its `run:status` events tell the open event streams of the runs
   *   started, paused, resumed and stopped here)
   */
  constructor(private readonly queue: DashboardQueue) {}

  /** `GET api/runs?businessId=&status=&limit=&after=`: a {@link RunsPage}. */
  async listRuns(url: URL): Promise<Response> {
    const query = url.searchParams;
    const businessId = value(query, 'businessId');
    const status = statuses<RunStatus>(query);
    const { rows, next } = await page(
      pageSize(query),
      value(query, 'after'),
      (limit, after) => this.queue.listRuns({ businessId, status, limit, after }),
      (run) => run.runId,
    );
    return jsonResponse(withNext<RunsPage>({ runs: rows }, next));
  }

  /** `GET api/runs/:runId`: the run's summary, with `waiting`. */
  async getRun(runId: string): Promise<Response> {
    return jsonResponse(await this.queue.getRun(runId));
  }

  /** `GET api/runs/:runId/jobs?status=&limit=&after=`: a {@link JobsPage}. */
  async listJobs(runId: string, url: URL): Promise<Response> {
    const query = url.searchParams;
    const status = statuses<JobStatus>(query);
    const { rows, next } = await page(
      pageSize(query),
      value(query, 'after'),
      (limit, after) => this.queue.listJobs(runId, { status, limit, after }),
      (job) => job.jobId,
    );
    return jsonResponse(withNext<JobsPage>({ jobs: rows }, next));
  }

  /** `GET api/jobs/:jobId`: the job with its attempts. */
  async getJob(jobId: string): Promise<Response> {
    return jsonResponse(await this.queue.getJob(jobId));
  }

  /** `GET api/businesses/:businessId`: a {@link BusinessView}. */
  async getBusiness(businessId: string): Promise<Response> {
    const summary = await this.queue.getBusiness(businessId);
    const view: BusinessView = { ...summary, ...businessLoad(summary) };
    return jsonResponse(view);
  }

  /** `POST api/runs`: 201 with the new run, or 200 when `runId` named the same run. */
  async startRun(request: Request): Promise<Response> {
    const input = withInstants(await readJsonBody(request));
    // The queue validates the whole input and names every bad field and row.
    const result = await this.queue.startRun(input as StartRunInput);
    return jsonResponse(result, result.created ? 201 : 200);
  }

  /** `POST api/runs/:runId/pause`: the run's summary. */
  async pause(runId: string): Promise<Response> {
    return jsonResponse(await this.queue.pause(runId));
  }

  /** `POST api/runs/:runId/resume`: the run's summary. */
  async resume(runId: string): Promise<Response> {
    return jsonResponse(await this.queue.resume(runId));
  }

  /** `POST api/runs/:runId/stop`, body `{ "hangup": true }` optional: the run's summary. */
  async stop(runId: string, request: Request): Promise<Response> {
    const body = (await readJsonBody(request)) ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ValidationError([{ field: 'body', message: 'must be an object such as {"hangup":true}' }]);
    }
    const { hangup } = body as { hangup?: unknown };
    if (hangup !== undefined && typeof hangup !== 'boolean') {
      throw new ValidationError([{ field: 'hangup', message: 'must be a boolean' }]);
    }
    return jsonResponse(await this.queue.stop(runId, { hangup: hangup === true }));
  }
}

/** A query parameter, an empty one (a blank filter of a form) read as absent. */
function value(query: URLSearchParams, name: string): string | undefined {
  const v = query.get(name);
  return v === null || v === '' ? undefined : v;
}

/** The `status` parameters (it may repeat), unchecked: the queue names an unknown one. */
function statuses<S extends string>(query: URLSearchParams): S[] | undefined {
  const all = query.getAll('status').filter((s) => s !== '');
  return all.length > 0 ? (all as S[]) : undefined;
}

/** The `limit` parameter: a whole number from 1 to {@link MAX_PAGE}, default {@link DEFAULT_PAGE}. */
function pageSize(query: URLSearchParams): number {
  const raw = value(query, 'limit');
  if (raw === undefined) return DEFAULT_PAGE;
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE)) {
    throw new ValidationError([
      { field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE} (got ${JSON.stringify(raw)})` },
    ]);
  }
  return limit;
}

/**
 * One page of `limit` rows after `after`, and whether more follow: one row more is asked for,
 * or, for the largest page, the row after the last one.
 */
async function page<T>(
  limit: number,
  after: string | undefined,
  read: (limit: number, after: string | undefined) => Promise<T[]>,
  idOf: (row: T) => string,
): Promise<{ rows: T[]; next?: string }> {
  if (limit < MAX_PAGE) {
    const rows = await read(limit + 1, after);
    const kept = rows.slice(0, limit);
    const last = kept.at(-1);
    return rows.length > limit && last !== undefined ? { rows: kept, next: idOf(last) } : { rows: kept };
  }
  const rows = await read(limit, after);
  const last = rows.at(-1);
  if (rows.length < limit || last === undefined) return { rows };
  return (await read(1, idOf(last))).length > 0 ? { rows, next: idOf(last) } : { rows };
}

function withNext<P extends { next?: string }>(body: P, next: string | undefined): P {
  return next === undefined ? body : { ...body, next };
}

/**
 * The body of `POST api/runs` with its ISO `startAt` and `notBefore` strings made `Date`s, as
 * `startRun` takes them; anything else is left as it is, for `startRun` to name.
 */
function withInstants(body: unknown): unknown {
  if (!isObject(body)) return body;
  const input: Record<string, unknown> = { ...body };
  if ('startAt' in input) input.startAt = instant(input.startAt);
  if (Array.isArray(input.leads)) {
    input.leads = input.leads.map((lead: unknown) =>
      isObject(lead) && 'notBefore' in lead ? { ...lead, notBefore: instant(lead.notBefore) } : lead,
    );
  }
  return input;
}

function instant(value: unknown): unknown {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return value;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
