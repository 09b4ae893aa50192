import { randomBytes } from 'node:crypto';
import type { CallStatus } from '../../../src/types.js';

/** A Twilio error, as the fake answers it. */
export interface FakeTwilioError {
  /** Twilio's error code, e.g. 21211. */
  code: number;
  /** HTTP status (default: derived from the code). */
  status?: number;
  /** Message (default: a generic one). */
  message?: string;
}

/** Statuses of a call in the fake, spelled as Twilio's Call resource spells them. */
export type FakeCallStatus = CallStatus | 'queued';

/** Terminal statuses: the call is over. */
export const TERMINAL_CALL_STATUSES: ReadonlySet<FakeCallStatus> = new Set([
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
]);

/** Everything the fake knows about one call. */
export interface FakeCallRecord {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  status: FakeCallStatus;
  createdAt: Date;
  updatedAt: Date;
  /** Creation order, to sort calls created in the same millisecond. */
  order: number;
  /** When Twilio started the call (it left `queued`): the Call resource's `start_time`. */
  dialedAt?: Date;
  /** When the call was answered. */
  startedAt?: Date;
  endedAt?: Date;
  answeredBy?: string;
  /** The create request's parameters, as sent (form names: `To`, `StatusCallback`, ...). */
  params: URLSearchParams;
}

/** A Twilio resource SID: two letters and 32 hex digits. */
export function newSid(prefix: 'CA' | 'AC'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Twilio's date format: RFC 2822 in UTC with a literal `+0000`. */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/** The JSON body of a Call resource, as `GET /Calls/{sid}.json` answers it. */
export function callJson(call: FakeCallRecord): Record<string, unknown> {
  const duration =
    call.endedAt && call.startedAt
      ? String(Math.round((call.endedAt.getTime() - call.startedAt.getTime()) / 1000))
      : call.endedAt
        ? '0'
        : null;
  const uri = `/2010-04-01/Accounts/${call.accountSid}/Calls/${call.sid}.json`;
  return {
    sid: call.sid,
    date_created: rfc2822(call.createdAt),
    date_updated: rfc2822(call.updatedAt),
    parent_call_sid: null,
    account_sid: call.accountSid,
    to: call.to,
    to_formatted: call.to,
    from: call.from,
    from_formatted: call.from,
    phone_number_sid: null,
    status: call.status,
    start_time: call.dialedAt ? rfc2822(call.dialedAt) : null,
    end_time: call.endedAt ? rfc2822(call.endedAt) : null,
    duration,
    price: null,
    price_unit: 'USD',
    direction: 'outbound-api',
    answered_by: call.answeredBy ?? null,
    api_version: '2010-04-01',
    forwarded_from: null,
    group_sid: null,
    caller_name: null,
    queue_time: '0',
    trunk_sid: null,
    uri,
    subresource_uris: {
      notifications: uri.replace('.json', '/Notifications.json'),
      recordings: uri.replace('.json', '/Recordings.json'),
      events: uri.replace('.json', '/Events.json'),
    },
  };
}

const DEFAULT_STATUS: Readonly<Record<number, number>> = {
  20003: 401,
  20005: 401,
  20404: 404,
  20429: 429,
  20500: 500,
  20503: 503,
};

const DEFAULT_MESSAGE: Readonly<Record<number, string>> = {
  20003: 'Authenticate',
  20005: 'Account not active',
  20404: 'The requested resource was not found',
  20429: 'Too Many Requests',
  21211: "The 'To' number is not a valid phone number.",
  21215: 'Account not authorized to call this number.',
  21220: 'Call is not in-progress. Cannot redirect.',
};

/** An error body shaped like Twilio's, with its HTTP status. */
export function errorBody(error: FakeTwilioError): { status: number; body: Record<string, unknown> } {
  const status = error.status ?? DEFAULT_STATUS[error.code] ?? 400;
  return {
    status,
    body: {
      code: error.code,
      message: error.message ?? DEFAULT_MESSAGE[error.code] ?? `Twilio error ${error.code}`,
      more_info: `https://www.twilio.com/docs/errors/${error.code}`,
      status,
    },
  };
}
