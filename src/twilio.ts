/**
 * `outbound-queue/twilio`: places calls through Twilio and takes its signed status callbacks.
 * Requires the optional peer dependency `twilio`.
 * @packageDocumentation
 */

export type {
  TwilioCallContext,
  TwilioCallRecord,
  TwilioCallsResource,
  TwilioClientLike,
  TwilioCreateCallExtras,
  TwilioCreateCallParams,
} from './dialer/twilio/twilio-client.js';
export type { TwilioDialerOptions } from './dialer/twilio/twilio-dialer.js';
export { TwilioDialer } from './dialer/twilio/twilio-dialer.js';
export type { TwilioErrorHints } from './dialer/twilio/twilio-errors.js';
export { mapTwilioError } from './dialer/twilio/twilio-errors.js';
export type {
  TwilioCallEvent,
  TwilioWebhookHandlerOptions,
  TwilioWebhookInput,
  TwilioWebhookParams,
} from './dialer/twilio/twilio-webhook.js';
export { createTwilioWebhookHandler } from './dialer/twilio/twilio-webhook.js';
