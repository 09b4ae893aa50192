import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /** Largest request body passed on, in bytes (default 10 MB); a larger one is answered 413. */
  maxBodyBytes?: number;
  /** Where a handler that threw is logged (default `console.error`). */
  logger?: Pick<Logger, 'error'>;
}

/** A node:http request, as Express hands it on too. */
export type NodeRequest = IncomingMessage & {
  /** The path as the client sent it: Express strips the mount path from `url` but keeps it here. */
  originalUrl?: string;
};

/** Default of {@link NodeHandlerOptions.maxBodyBytes}. */
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Serves a web-standard handler (`Request` in, `Response` out; the dashboard's or the Twilio
 * webhook's) from `node:http`, Express or any framework that hands on node's request and response.
 * The request's URL is its `originalUrl` (Express strips the mount path from `url`), its body is
 * read up to `maxBodyBytes`, and the response body is streamed: each chunk is written as it comes
 * (an event stream reaches the client message by message), and the stream is canceled when the
 * client goes away. Mount it before any body parser: the body must still be unread.
 * @param handler - the web-standard handler
 * @param options - the body size cap and the logger
 * @returns a `(req, res)` listener for `http.createServer`, `app.use` and the like
 * @example
 * ```ts
 * app.use('/dashboard', toNodeHandler(createDashboardHandler({ queue, basePath: '/dashboard', authorize })));
 * ```
 */
export function toNodeHandler(
  handler: (request: Request) => Response | Promise<Response>,
  options: NodeHandlerOptions = {},
): (req: NodeRequest, res: ServerResponse) => Promise<void> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger = options.logger ?? { error: (obj, msg) => console.error(msg, obj) };
  return async (req, res) => {
    const aborted = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    let request: Request;
    try {
      const body = await readBody(req, maxBodyBytes);
      if (body === TOO_LARGE) return refuseLarge(req, res, maxBodyBytes);
      request = webRequest(req, body, aborted.signal);
    } catch (err) {
      // A client gone before its body arrived, a Host or method no `Request` can carry.
      return answer(res, 400, 'BAD_REQUEST', err instanceof Error ? err.message : String(err));
    }
    let response: Response;
    try {
      response = await handler(request);
    } catch (err) {
      logger.error({ err, method: req.method, url: request.url }, 'OUTBOUND_NODE_HANDLER_FAILED');
      return answer(res, 500, 'INTERNAL', 'internal error');
    }
    await writeResponse(response, req.method === 'HEAD', res, (err) =>
      logger.error({ err, method: req.method, url: request.url }, 'OUTBOUND_NODE_HANDLER_FAILED'),
    );
  };
}

const TOO_LARGE = Symbol('too large');

/**
 * The request's body, or {@link TOO_LARGE} as soon as it passes `max` bytes; undefined for a GET
 * or HEAD, and for a body a parser mounted before this one has read already.
 */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | undefined | typeof TOO_LARGE> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.readableEnded) return Promise.resolve(undefined);
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const settle = (result: () => void) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      result();
    };
    const onData = (chunk: Uint8Array | string) => {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      size += bytes.byteLength;
      if (size > max) settle(() => resolve(TOO_LARGE));
      else chunks.push(bytes);
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks, size)));
    const onError = (err: Error) => settle(() => reject(err));
    const onClose = () => settle(() => reject(new Error('the request closed before its body was read')));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Answers 413 and reads the rest of the body away, so that the client reads the answer rather
 * than a connection reset; a client that sends more than twice the cap is cut off.
 */
function refuseLarge(req: IncomingMessage, res: ServerResponse, max: number): void {
  answer(res, 413, 'PAYLOAD_TOO_LARGE', `the body is over ${max} bytes`, { connection: 'close' });
  let discarded = 0;
  req.on('data', (chunk: Uint8Array) => {
    discarded += chunk.byteLength;
    if (discarded > max) req.destroy();
  });
  req.resume();
}

/** Ends `res` with a JSON error of the dashboard's form, unless an answer was begun already. */
function answer(
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ error, message }));
}

function webRequest(req: NodeRequest, body: Uint8Array | undefined, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    // HTTP/2 pseudo-headers (`:path`) are not headers of a `Request`.
    if (value === undefined || name.startsWith(':')) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const host = req.headers.host ?? 'localhost';
  const url = new URL(req.originalUrl ?? req.url ?? '/', `${encrypted ? 'https' : 'http'}://${host}`);
  const method = req.method ?? 'GET';
  return new Request(url, { method, headers, body: body && body.byteLength > 0 ? body : undefined, signal });
}

async function writeResponse(
  response: Response,
  head: boolean,
  res: ServerResponse,
  failed: (err: unknown) => void,
): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (response.body === null || head || res.destroyed) {
    // A HEAD has no body; a client gone while the handler worked has no use for it.
    await response.body?.cancel();
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } catch (err) {
    // The body failed midway: the client sees the connection end without the rest.
    failed(err);
    res.destroy();
  } finally {
    res.off('close', cancel);
  }
}

/** Resolves once `res` can take more, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
