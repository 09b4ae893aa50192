import {
  OutboundQueueError,
  type OutboundQueueErrorCode,
  ValidationError,
  type ValidationIssue,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { jsonResponse } from './http-responses.js';

/** Codes of the refusals the dashboard makes itself, before the queue is asked anything. */
export type DashboardRefusalCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CSRF'
  | 'NOT_FOUND'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'INTERNAL';

/** The JSON body of every error the dashboard answers. */
export interface DashboardErrorBody {
  /** The queue's error code (`VALIDATION`, `NOT_FOUND`, ...) or one of {@link DashboardRefusalCode}. */
  error: OutboundQueueErrorCode | DashboardRefusalCode;
  /** What went wrong, for people (`internal error` for a 500: details go to the log only). */
  message: string;
  /** For `VALIDATION`: each bad field, `row` and `duplicateOf` being indexes into `leads`. */
  issues?: readonly ValidationIssue[];
  /** For `VALIDATION`: how many problems there were in all (`issues` holds at most 1,000). */
  issueCount?: number;
}

/** A refusal of the dashboard's own (bad body, wrong origin, ...), answered as it says. */
export class DashboardHttpError extends Error {
  /**
   * @param status - the HTTP status to answer
   * @param code - the `error` of the body
   * @param message - the `message` of the body
   * @param headers - extra headers of the answer (`allow` for a 405)
   */
  constructor(
    readonly status: number,
    readonly code: DashboardRefusalCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DashboardHttpError';
  }
}

/** HTTP status of each queue error code the dashboard answers with something else than a 500. */
const STATUS_OF_CODE: Partial<Record<OutboundQueueErrorCode, number>> = {
  VALIDATION: 400,
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  IDEMPOTENCY_CONFLICT: 409,
  CLOSED: 503,
};

/**
 * The JSON answer to a failure: the queue's errors and the dashboard's refusals by their code;
 * anything else is a 500 whose details go to the log, never to the client.
 * @param err - what was thrown
 * @param logger - where a 500 is logged
 * @param fields - context logged with a 500 (method, path)
 * @returns the response
 */
export function errorResponse(err: unknown, logger: Logger, fields: Record<string, unknown>): Response {
  if (err instanceof DashboardHttpError) {
    return jsonResponse(errorBody(err.code, err.message), err.status, err.headers);
  }
  if (err instanceof OutboundQueueError) {
    const status = STATUS_OF_CODE[err.code];
    if (status !== undefined) {
      const body = errorBody(err.code, err.message);
      if (err instanceof ValidationError) {
        body.issues = err.issues;
        body.issueCount = err.issueCount;
      }
      return jsonResponse(body, status);
    }
  }
  logger.error({ err, ...fields }, 'OUTBOUND_DASHBOARD_FAILED');
  return jsonResponse(errorBody('INTERNAL', 'internal error'), 500);
}

/**
 * An error body without issues.
 * @param error - the code
 * @param message - the text
 * @returns the body
 */
export function errorBody(error: DashboardErrorBody['error'], message: string): DashboardErrorBody {
  return { error, message };
}
