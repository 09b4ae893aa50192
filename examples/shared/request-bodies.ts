/**
 * The JSON bodies of the examples' API routes, narrowed from what the framework parsed. Only the
 * shape is checked here; `queue.startRun` validates the run itself and names every bad field.
 */
import type { StartRunInput, StopOptions } from 'outbound-queue';
import { HttpError } from './http-errors.js';

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
