import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A web-standard handler served over node:http for a test, and how to reach and stop it. */
export interface ServedHandler {
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** Every request's method, path and answer status, in arrival order. */
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

/**
 * Serves a `(Request) => Promise<Response>` handler on a random port of 127.0.0.1, the way an
 * Express or Fastify app would mount it with a small adapter (see docs/twilio.md).
 * @param handler - e.g. `createTwilioWebhookHandler(...)`
 * @returns the server's base URL and a close function
 */
export async function serveWebHandler(
  handler: (request: Request) => Promise<Response>,
): Promise<ServedHandler> {
  const requests: ServedHandler['requests'] = [];
  let baseUrl = '';
  const server = createServer((req, res) => {
    void answer(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = await toRequest(req, baseUrl);
    const response = await handler(request);
    requests.push({ method: req.method ?? '', path: req.url ?? '', status: response.status });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A node:http request as a web `Request` (the adapter an Express or Fastify route needs).
 * @param req - the incoming request, body not yet read
 * @param origin - the origin to put in front of `req.url`
 * @returns the web request
 */
export async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? undefined : Buffer.concat(chunks);
  return new Request(`${origin}${req.url ?? '/'}`, { method, headers, body });
}
