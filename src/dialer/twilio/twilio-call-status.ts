import type { CallStatus } from '../../types.js';

/**
 * Twilio's call statuses (the Call resource's `status` and a status callback's `CallStatus`) as
 * call event statuses. `queued` means Twilio accepted the call but has not started it: for the
 * queue that is the same step as `initiated`.
 */
const CALL_STATUS_OF_TWILIO: Readonly<Record<string, CallStatus>> = {
  queued: 'initiated',
  initiated: 'initiated',
  ringing: 'ringing',
  'in-progress': 'in-progress',
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no-answer',
  failed: 'failed',
  canceled: 'canceled',
};

/**
 * The call event status of a Twilio call status.
 * @param status - Twilio's spelling (`queued`, `in-progress`, ...)
 * @returns the status, or undefined for anything Twilio does not document
 */
export function callStatusOfTwilio(status: unknown): CallStatus | undefined {
  return typeof status === 'string' && Object.hasOwn(CALL_STATUS_OF_TWILIO, status)
    ? CALL_STATUS_OF_TWILIO[status]
    : undefined;
}
