import type { Logger } from '../logger.js';
import { DashboardHttpError, errorBody } from './error-response.js';
import { jsonResponse } from './http-responses.js';

/**
 * Decides whether a request may reach the dashboard: `true` lets it in, `false` refuses it with
 * 403, a `Response` is sent as it is (a 401 asking for credentials, a redirect to a login page).
 */
export type DashboardAuthorize = (request: Request) => boolean | Response | Promise<boolean | Response>;

/** Largest request body the dashboard reads (a run of 100,000 leads fits). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Asks the host's `authorize` about a request.
 * @param authorize - the host's check
 * @param request - the request
 * @param logger - where a throwing check is logged
 * @returns undefined to let the request in, else the answer that refuses it (403, the host's
 *   own `Response`, or a 500 when the check threw)
 */
export async function refusal(
  authorize: DashboardAuthorize,
  request: Request,
  logger: Logger,
): Promise<Response | undefined> {
  let verdict: unknown;
  try {
    verdict = await authorize(request);
  } catch (err) {
    logger.error({ err, method: request.method, url: request.url }, 'OUTBOUND_DASHBOARD_AUTHORIZE_FAILED');
    return jsonResponse(errorBody('INTERNAL', 'internal error'), 500);
  }
  if (verdict === true) return undefined;
  if (isResponse(verdict)) return verdict;
  // Anything but `true` refuses: a check that forgot to return must not open the page.
  return jsonResponse(errorBody('FORBIDDEN', 'not allowed'), 403);
}

/** A `Response`, also one made by another realm's or a polyfill's class. */
function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Response>;
  return typeof candidate.status === 'number' && typeof candidate.headers?.get === 'function';
}

/**
 * Refuses a POST that a page of another site could have sent: its `Content-Type` must be
 * `application/json` (a cross-site form cannot send it without a preflight, which the dashboard
 * never grants), its `Origin`, if sent, one of `origins`, and its `Sec-Fetch-Site`, if sent,
 * `same-origin` or `none`.
 * @param request - the POST
 * @param origins - the origins that may post (the request's own, and the public one behind a proxy)
 * @throws {@link DashboardHttpError} 403 `CSRF` or 415 `UNSUPPORTED_MEDIA_TYPE`
 */
export function checkSameOrigin(request: Request, origins: readonly string[]): void {
  const origin = request.headers.get('origin');
  if (origin !== null && !origins.includes(origin)) {
    throw new DashboardHttpError(403, 'CSRF', `requests from origin ${origin} are refused`);
  }
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') {
    throw new DashboardHttpError(403, 'CSRF', `requests from a ${site} page are refused`);
  }
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new DashboardHttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
  }
}

/**
 * Reads a JSON body of at most {@link MAX_BODY_BYTES}.
 * @param request - the request
 * @returns the parsed value, or undefined for an empty body
 * @throws {@link DashboardHttpError} 413 for a larger body, 400 for one that is not UTF-8 JSON
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (request.body === null) return undefined;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(concat(chunks, size));
  } catch {
    throw new DashboardHttpError(400, 'BAD_REQUEST', 'the body is not UTF-8 text');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DashboardHttpError(
      400,
      'BAD_REQUEST',
      `the body is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

function tooLarge(): DashboardHttpError {
  return new DashboardHttpError(413, 'PAYLOAD_TOO_LARGE', `the body is over ${MAX_BODY_BYTES} bytes`);
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}
