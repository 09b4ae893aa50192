import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import { TwilioDialer, type TwilioDialerOptions } from '../../../src/dialer/twilio/twilio-dialer.js';

/** The real twilio client type (`twilio.Twilio`). */
export type RealTwilioClient = ReturnType<typeof twilio>;

/** Anything with a base URL to send Twilio's API requests to (a running `FakeTwilio`). */
export interface TwilioApiTarget {
  baseUrl: string;
  accountSid: string;
  authToken: string;
}

/**
 * An HTTP client for the twilio package that sends every `https://api.twilio.com` request to
 * another base URL. Everything else (auth header, form encoding, error parsing) is the SDK's own.
 */
export class RedirectingRequestClient extends twilio.RequestClient {
  /**
   * @param baseUrl - where requests go instead (`http://127.0.0.1:PORT`)
   */
  constructor(private readonly baseUrl: string) {
    // Keep-alive sockets to a server that a test closes would only delay its shutdown.
    super({ keepAlive: false });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request<TData>({
      ...opts,
      uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.baseUrl),
    });
  }
}

/**
 * A real twilio client whose requests go to a fake Twilio instead of the internet.
 * @param target - the fake (its base URL and credentials)
 * @param credentials - other credentials than the fake's, to test authentication failures
 * @returns the client, as `twilio(accountSid, authToken)` would make it
 */
export function fakeTwilioClient(
  target: TwilioApiTarget,
  credentials: { accountSid?: string; authToken?: string } = {},
): RealTwilioClient {
  return twilio(credentials.accountSid ?? target.accountSid, credentials.authToken ?? target.authToken, {
    httpClient: new RedirectingRequestClient(target.baseUrl),
  });
}

/**
 * A `TwilioDialer` on the real SDK, talking to `target`, whose status callbacks go to
 * `<callbackBaseUrl>/twilio/status`.
 * @param options - overrides of the dialer's options
 * @returns the dialer
 */
export function fakeTwilioDialer(
  target: TwilioApiTarget,
  callbackBaseUrl: string,
  options: Partial<TwilioDialerOptions> = {},
): TwilioDialer {
  return new TwilioDialer({
    client: fakeTwilioClient(target),
    authToken: target.authToken,
    from: '+14155550100',
    url: 'https://example.com/voice.xml',
    statusCallbackUrl: `${callbackBaseUrl}/twilio/status`,
    ...options,
  });
}
