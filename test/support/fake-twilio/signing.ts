import { createHmac } from 'node:crypto';

/**
 * `X-Twilio-Signature` as Twilio computes it: HMAC-SHA1, keyed with the auth token, over the full
 * URL followed by every POST parameter name and value, names sorted; base64. Written from Twilio's
 * description (not the SDK) so a test can check that the SDK's `validateRequest` agrees.
 * @param authToken - the account's auth token
 * @param url - the exact URL Twilio was given (query string included)
 * @param params - the form parameters of the request
 * @returns the header value
 */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Readonly<Record<string, string | readonly string[]>>,
): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    // A repeated parameter contributes each distinct value, sorted, each after the name.
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
    for (const v of values) data += name + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** What one signed POST got back. */
export interface SignedPostResult {
  /** HTTP status, or 0 when the request never got an answer. */
  status: number;
  /** The network error, when there was one. */
  error?: string;
}

/**
 * POSTs a form to `url` signed as Twilio would sign it.
 * @param url - the callback URL
 * @param params - the form parameters
 * @param authToken - key of the signature
 * @param headers - extra headers (e.g. a forged signature to override it)
 * @returns the answer's status
 */
export async function postSignedForm(
  url: string,
  params: Readonly<Record<string, string>>,
  authToken: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<SignedPostResult> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(authToken, url, params),
        'user-agent': 'TwilioProxy/1.1',
        ...headers,
      },
      body: new URLSearchParams(params).toString(),
    });
    await response.arrayBuffer(); // drain it so the connection is reused
    return { status: response.status };
  } catch (err) {
    return { status: 0, error: err instanceof Error ? err.message : String(err) };
  }
}
