/**
 * The error mapping the three web examples share: whatever a route throws becomes one HTTP status
 * and one JSON body, `{ error, message, issues? }`, the shape the dashboard's API answers too.
 */
import {
  IdempotencyConflictError,
  InvalidStateError,
  NotFoundError,
  OutboundQueueError,
  ValidationError,
  type ValidationIssue,
} from 'outbound-queue';

/** The JSON body of an error answer. */
export interface ErrorBody {
  /** The queue's stable error code (`VALIDATION`, `NOT_FOUND`, ...) or an HTTP one (`BAD_REQUEST`). */
  error: string;
  message: string;
  /** For a `ValidationError`: each bad row and field. */
  issues?: readonly ValidationIssue[];
}

/** An error answer: status and body. */
export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
}

/** A refusal of the example's own (a malformed body, an unknown route), with its status. */
export class HttpError extends Error {
  /**
   * @param status - the HTTP status to answer, 4xx
   * @param message - said to the client as it is
   */
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const HTTP_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * The status a framework put on its own error: Express's body parser sets `status` (400 for bad
 * JSON, 413 for a body over the limit), Fastify sets `statusCode` (parse and validation errors),
 * Hono's `HTTPException` sets `status`. Only a 4xx counts: anything else is ours to hide.
 */
function clientStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 500 ? value : undefined;
}

/**
 * Maps an error thrown while answering a request: `ValidationError` 400 (with `issues`),
 * `NotFoundError` 404, `InvalidStateError` and `IdempotencyConflictError` 409, an `HttpError` or
 * a framework's 4xx error its own status, anything else 500 with no details. Logs the 500s (once,
 * here), so that the caller only sends the answer.
 * @param err - what the route threw
 * @returns the status and JSON body to answer with
 */
export function toErrorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof ValidationError) {
    return { status: 400, body: { error: err.code, message: err.message, issues: err.issues } };
  }
  if (err instanceof NotFoundError) return { status: 404, body: { error: err.code, message: err.message } };
  if (err instanceof InvalidStateError || err instanceof IdempotencyConflictError) {
    return { status: 409, body: { error: err.code, message: err.message } };
  }
  const status = err instanceof OutboundQueueError ? undefined : clientStatus(err);
  if (status !== undefined) {
    const error = HTTP_CODES[status] ?? `HTTP_${status}`;
    return { status, body: { error, message: (err as Error).message || error } };
  }
  console.error('request failed:', err);
  return { status: 500, body: { error: 'INTERNAL', message: 'internal error' } };
}
