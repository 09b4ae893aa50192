/**
 * The JSON bodies of the examples' API routes: the content type checked before the framework
 * parses (one answer in the three frameworks), then the shape narrowed from what it parsed. Only
 * the shape is checked here; `queue.startRun` validates the run itself and names every bad field.
 */
import type { StartRunInput, StopOptions } from 'outbound-queue';
import { HttpError } from './http-errors.js';

/**
 * Whether a request's headers announce a body: a `Content-Length` above 0, or a
 * `Transfer-Encoding` (a chunked body, whose length is not known in advance).
 * @param headers - node's request headers (Express's `req.headers`, Fastify's `request.headers`)
 * @returns true when a body follows the headers
 */
export function hasBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

/**
 * Refuses a body sent as anything but JSON, before it is parsed: without this, Express's
 * `express.json()` skips it (the route would see no body) and Fastify parses `text/plain` as a
 * string, each answering something else. Call it only for a request that has a body.
 * @param contentType - the request's `Content-Type` header
 * @throws HttpError 415 (`UNSUPPORTED_MEDIA_TYPE`) unless it is `application/json` (parameters allowed)
 */
export function requireJsonContentType(contentType: string | null | undefined): void {
  if (!/^\s*application\/json\s*(;|$)/i.test(contentType ?? '')) {
    throw new HttpError(415, 'send the body as Content-Type: application/json');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The body of `POST /runs`.
 * @param body - the parsed JSON (undefined when the request had none)
 * @returns the input for `queue.startRun`
 * @throws HttpError 400 unless the body is a JSON object
 */
export function startRunBody(body: unknown): StartRunInput {
  if (!isObject(body))
    throw new HttpError(400, 'the body must be a JSON object (Content-Type: application/json)');
  return body as unknown as StartRunInput;
}

/**
 * The body of `POST /runs/:id/stop`, which is optional.
 * @param body - the parsed JSON (undefined when the request had none)
 * @returns the options for `queue.stop`
 * @throws HttpError 400 for a body that is not an object, or a `hangup` that is not a boolean
 */
export function stopBody(body: unknown): StopOptions {
  if (body === undefined) return {};
  if (!isObject(body)) throw new HttpError(400, 'the body must be a JSON object');
  if (body.hangup !== undefined && typeof body.hangup !== 'boolean') {
    throw new HttpError(400, 'hangup must be true or false');
  }
  return { hangup: body.hangup === true };
}
