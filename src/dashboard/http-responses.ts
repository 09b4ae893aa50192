/** Headers every answer of the dashboard carries: nothing of it is cached or sniffed. */
const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

/**
 * The page's Content-Security-Policy: its own script, styles and API only, no frames, no inline
 * code, no forms posting elsewhere.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * A response with the dashboard's common headers.
 * @param body - the body, or null
 * @param status - the HTTP status
 * @param headers - headers of this answer (content type, location, ...)
 * @returns the response
 */
export function dashboardResponse(
  body: ConstructorParameters<typeof Response>[0],
  status: number,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers: { ...COMMON_HEADERS, ...headers } });
}

/**
 * A JSON response (dates as ISO strings, as `JSON.stringify` writes them).
 * @param value - what to serialise
 * @param status - the HTTP status (default 200)
 * @param headers - extra headers
 * @returns the response
 */
export function jsonResponse(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return dashboardResponse(JSON.stringify(value), status, {
    'content-type': 'application/json; charset=utf-8',
    ...headers,
  });
}
