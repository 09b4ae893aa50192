/**
 * The part of a twilio client that {@link TwilioDialer} uses, typed structurally so that a client
 * made by `twilio(accountSid, authToken)` (twilio 5 or 6) fits without this package importing
 * twilio's types into yours.
 */
export interface TwilioClientLike {
  /** The Calls resource: `calls.create(...)` and `calls(sid).fetch() / .update(...)`. */
  calls: TwilioCallsResource;
  /** The client's HTTP client; read only for the `Retry-After` header of a failed request. */
  httpClient?: {
    /** The response to the client's latest request. */
    lastResponse?: {
      /** Its HTTP status. */
      statusCode: number;
      /** Its headers. */
      headers?: unknown;
    };
  };
}

/** The Calls list resource of a twilio client. */
export interface TwilioCallsResource {
  /**
   * The call with this SID.
   * @param sid - the call's SID (`CA...`)
   */
  (sid: string): TwilioCallContext;
  /**
   * Places a call (`POST /2010-04-01/Accounts/{sid}/Calls.json`).
   * @param params - the call's parameters, in the twilio client's camelCase
   */
  create(params: TwilioCreateCallParams): Promise<TwilioCallRecord>;
  /**
   * Reads the calls that match every filter given (`GET /2010-04-01/Accounts/{sid}/Calls.json`),
   * newest first, following pages up to `limit` records.
   * @param params - `to`, `from`, `status` and `startTimeAfter` (calls that started at or after
   *   it; Twilio compares dates, and a call not yet started has no start time), and `limit`
   */
  list(params: {
    to?: string;
    from?: string;
    status?:
      | 'queued'
      | 'ringing'
      | 'in-progress'
      | 'completed'
      | 'busy'
      | 'failed'
      | 'no-answer'
      | 'canceled';
    startTimeAfter?: Date;
    limit?: number;
    pageSize?: number;
  }): Promise<TwilioCallRecord[]>;
}

/** One call of the Calls resource. */
export interface TwilioCallContext {
  /** Reads the call. */
  fetch(): Promise<TwilioCallRecord>;
  /**
   * Changes the call; `{ status: 'completed' }` hangs it up.
   * @param params - the change
   */
  update(params: { status: 'completed' | 'canceled' }): Promise<unknown>;
}

/** The fields of a Twilio Call resource that the dialer reads. */
export interface TwilioCallRecord {
  /** The call's SID (`CA` + 32 hex digits). */
  sid: string;
  /** `queued`, `ringing`, `in-progress`, `completed`, `busy`, `failed`, `no-answer` or `canceled`. */
  status: string;
  /** Length of the call in seconds, as a string; empty until the call ends. */
  duration?: string | null;
  /** Answering machine detection's verdict, when it ran. */
  answeredBy?: string | null;
  /** When the call last changed. */
  dateUpdated?: Date | null;
  /** When Twilio created the call (whole seconds). */
  dateCreated?: Date | null;
  /** The number called. */
  to?: string | null;
  /** The caller id. */
  from?: string | null;
  /** `outbound-api` for a call placed with `calls.create`. */
  direction?: string | null;
}

/**
 * Extra parameters of `calls.create` passed through as they are (`record`, `asyncAmd`,
 * `machineDetectionTimeout`, `timeLimit`, `callerId`, ...). The dialer sets `to`, `from`, `url` /
 * `twiml` and the status callback itself.
 */
export interface TwilioCreateCallExtras {
  /** Record the call. */
  record?: boolean;
  /** Run answering machine detection without blocking the call's TwiML (`'true'`). */
  asyncAmd?: string;
  /** Where the asynchronous AMD verdict is posted. */
  asyncAmdStatusCallback?: string;
  /** Seconds AMD may take before it answers `unknown`. */
  machineDetectionTimeout?: number;
  /** Longest call allowed, in seconds. */
  timeLimit?: number;
  /** Any other `calls.create` parameter, in the twilio client's camelCase. */
  [param: string]: unknown;
}

/** The parameters {@link TwilioDialer} gives `calls.create`. */
export interface TwilioCreateCallParams extends TwilioCreateCallExtras {
  /** Number to call. */
  to: string;
  /** Caller id. */
  from: string;
  /** URL of the TwiML to run when the call connects. */
  url?: string;
  /** TwiML to run when the call connects. */
  twiml?: string;
  /** The host's status callback route, with the job id and lock token. */
  statusCallback: string;
  /** The call progress events Twilio reports. */
  statusCallbackEvent: string[];
  /** Always `POST`: the signature covers the form body. */
  statusCallbackMethod: string;
  /** Answering machine detection: `Enable` or `DetectMessageEnd`. */
  machineDetection?: string;
  /** Seconds to let the phone ring before giving up (`no-answer`). */
  timeout?: number;
}
