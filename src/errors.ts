/** Stable machine-readable codes of the errors this library throws. */
export type OutboundQueueErrorCode =
  | 'VALIDATION'
  | 'IDEMPOTENCY_CONFLICT'
  | 'NOT_FOUND'
  | 'WEBHOOK_SIGNATURE'
  | 'DIAL_FAILED'
  | 'INVALID_STATE'
  | 'TIMEOUT'
  | 'CLOSED';

/** Base class of every error thrown by outbound-queue; `code` is stable across versions. */
export class OutboundQueueError extends Error {
  /** Stable code of the error kind. */
  readonly code: OutboundQueueErrorCode;

  /**
   * @param code - stable code of the error kind
   * @param message - human-readable description
   * @param options - the underlying cause, if any
   */
  constructor(code: OutboundQueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem with one input row or field. */
export interface ValidationIssue {
  /** Index of the bad lead in `leads`, absent for run-level fields. */
  row?: number;
  /** The field at fault (`to`, `leadId`, `concurrency`, ...). */
  field: string;
  /** What is wrong with it. */
  message: string;
  /** For a repeated number or lead id: the index in `leads` of the row it repeats. */
  duplicateOf?: number;
}

/** Input was rejected as a whole; `issues` names each bad row and field. Nothing was written. */
export class ValidationError extends OutboundQueueError {
  /** Every problem found (capped at 1,000; `issueCount` is the full number). */
  readonly issues: readonly ValidationIssue[];
  /** How many problems were found in all. */
  readonly issueCount: number;

  /**
   * @param issues - the problems found
   * @param issueCount - the full number of problems when `issues` is capped
   */
  constructor(issues: readonly ValidationIssue[], issueCount = issues.length) {
    const head = issues
      .slice(0, 5)
      .map((i) =>
        i.row === undefined ? `${i.field}: ${i.message}` : `row ${i.row} ${i.field}: ${i.message}`,
      )
      .join('; ');
    const more = issueCount > 5 ? ` (and ${issueCount - 5} more)` : '';
    super('VALIDATION', `Invalid input: ${head}${more}`);
    this.issues = issues;
    this.issueCount = issueCount;
  }
}

/**
 * `startRun` was given a `runId` that names an existing run started with a different input
 * (business, concurrency, leads or policy). Nothing was written. Answer it with HTTP 409.
 */
export class IdempotencyConflictError extends OutboundQueueError {
  /** The run id that was reused. */
  readonly runId: string;

  /**
   * @param runId - the run id that names a run with another input
   */
  constructor(runId: string) {
    super(
      'IDEMPOTENCY_CONFLICT',
      `run ${runId} exists with a different input; use a new runId for a new run`,
    );
    this.runId = runId;
  }
}

/** A run or job that does not exist. */
export class NotFoundError extends OutboundQueueError {
  /**
   * @param what - what was looked for, e.g. `run abc`
   */
  constructor(what: string) {
    super('NOT_FOUND', `Not found: ${what}`);
  }
}

/** An operation that the run's current status does not allow (e.g. resuming a stopped run). */
export class InvalidStateError extends OutboundQueueError {
  /**
   * @param message - what was attempted and why it is not allowed
   */
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/**
 * A limiter was asked for a business in a scope the database says it does not belong to: the
 * business joined or left a group since the asker read its record. Internal: the engine reads the
 * record again and asks in the right scope.
 */
export class ScopeMovedError extends OutboundQueueError {
  /** The business asked for. */
  readonly businessId: string;
  /**
   * @param businessId - the business asked for
   * @param scope - the scope it was asked in, as people read it
   */
  constructor(businessId: string, scope: string) {
    super('INVALID_STATE', `business ${businessId} is not a member of ${scope} any more`);
    this.businessId = businessId;
  }
}

/** A webhook whose provider signature is missing or wrong. Answer it with HTTP 403. */
export class WebhookSignatureError extends OutboundQueueError {
  /**
   * @param message - why the signature was rejected
   */
  constructor(message = 'Invalid webhook signature') {
    super('WEBHOOK_SIGNATURE', message);
  }
}

/** How a dial failure should be handled: see {@link DialError}. */
export type DialFailureKind = 'permanent' | 'transient' | 'unknown' | 'fatal';

/**
 * Thrown by a dialer when a call could not be placed, or when it cannot tell whether it was.
 * - `permanent`: the job ends `failed` and is never retried (bad number, no permission).
 * - `transient`: nothing reached the provider, or the provider refused the request before acting
 *   on it (connection refused, DNS failure, rate limit): the job is retried later with backoff,
 *   without holding a slot.
 * - `unknown`: the outcome is not known (the request may have been received); the queue never
 *   dials the job again blindly: it asks the dialer (`findCall`) or waits for a call event with
 *   the job's token, else ends it failed with `DIAL_OUTCOME_UNKNOWN`.
 * - `fatal`: the dialer cannot place any call (bad credentials): the run is paused and an `error` event raised.
 */
export class DialError extends OutboundQueueError {
  /** How the queue treats the failure. */
  readonly kind: DialFailureKind;
  /** Provider error code, e.g. Twilio's `21211`. */
  readonly providerCode?: string;
  /** For transient (and unknown) errors: the provider's hint of how long to wait, in milliseconds. */
  readonly retryAfterMs?: number;

  /**
   * @param kind - permanent, transient, unknown or fatal
   * @param message - description
   * @param options - provider code, retry hint and cause
   */
  constructor(
    kind: DialFailureKind,
    message: string,
    options: { providerCode?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super('DIAL_FAILED', message, { cause: options.cause });
    this.kind = kind;
    this.providerCode = options.providerCode;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** `waitForRun` gave up after its `timeoutMs`. */
export class TimeoutError extends OutboundQueueError {
  /**
   * @param message - what timed out
   */
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/** The queue was closed; it no longer dispatches or accepts work in this process. */
export class ClosedError extends OutboundQueueError {
  constructor() {
    super('CLOSED', 'OutboundQueue is closed');
  }
}
