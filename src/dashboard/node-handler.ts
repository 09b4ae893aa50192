import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { DashboardHttpError } from './error-response.js';

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /**
   * Largest request body passed on, in bytes (default 10 MB): a larger one is answered 413, at once
   * when its `Content-Length` says so, else as soon as the handler has read past it.
   */
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
 * The request's URL is its `originalUrl` (Express strips the mount path from `url`); its body is
 * passed on as a stream, read off the socket only as the handler reads it (a handler that refuses
 * first never has it buffered) and cut at `maxBodyBytes` (413); the response body is streamed:
 * each chunk is written as it comes (an event stream reaches the client message by message), and
 * the stream is canceled when the client goes away. Mount it before any body parser: the body
 * must still be unread.
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
    const withBody = hasBody(req);
    if (withBody && Number(req.headers['content-length']) > maxBodyBytes) {
      return refuseLarge(req, res, maxBodyBytes);
    }
    const body = withBody ? new NodeRequestBody(req, maxBodyBytes) : undefined;
    let request: Request;
    try {
      request = webRequest(req, body?.stream, aborted.signal);
    } catch (err) {
      // A Host or method no `Request` can carry.
      body?.discard();
      return answer(res, 400, 'BAD_REQUEST', err instanceof Error ? err.message : String(err));
    }
    let response: Response;
    try {
      response = await handler(request);
    } catch (err) {
      // The body's own failure, which the handler passed on: not the handler's fault.
      if (body?.outcome === 'too large') return refuseLarge(req, res, maxBodyBytes);
      if (body?.outcome === 'failed')
        return answer(res, 400, 'BAD_REQUEST', 'the request body could not be read');
      logger.error({ err, method: req.method, url: request.url }, 'OUTBOUND_NODE_HANDLER_FAILED');
      body?.discard();
      return answer(res, 500, 'INTERNAL', 'internal error');
    }
    if (body?.outcome === 'too large') {
      // Whatever the handler made of a cut body, the client is told why.
      await response.body?.cancel().catch(() => {});
      return refuseLarge(req, res, maxBodyBytes);
    }
    await writeResponse(response, req.method === 'HEAD', res, (err) =>
      logger.error({ err, method: req.method, url: request.url }, 'OUTBOUND_NODE_HANDLER_FAILED'),
    );
    body?.discard();
  };
}

/**
 * Whether the request comes with a body to pass on: not for a GET or HEAD, nor for a body a parser
 * mounted before this one has read already, nor for one declared empty.
 */
function hasBody(req: IncomingMessage): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.readableEnded) return false;
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * A request's body as the web `Request`'s stream: read from the socket only as the handler reads
 * it (a handler that answers first, `authorize` refusing, never has it buffered), cut with a 413
 * `DashboardHttpError` as soon as it passes the cap.
 */
class NodeRequestBody {
  /** How the reading ended: undefined while the handler has not read it all. */
  outcome: 'read' | 'too large' | 'failed' | 'canceled' | undefined;
  readonly stream: ReadableStream<Uint8Array>;
  private size = 0;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private listening = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly max: number,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.pull(),
        cancel: () => this.settle('canceled'),
      },
      // Nothing is read ahead: a chunk comes off the socket when the handler asks for one.
      { highWaterMark: 0 },
    );
    // Heard from the start: a client gone before the handler reads must still end its read.
    req.on('error', this.onError);
    req.on('close', this.onClose);
  }

  /**
   * Once the answer is written: stops passing the body on, and reads away what the handler left
   * unread (so that the connection can serve the next request), cutting off a client that sends
   * more than the cap.
   */
  discard(): void {
    if (this.outcome === undefined) {
      this.settle('canceled');
      try {
        this.controller?.error(new DashboardHttpError(400, 'BAD_REQUEST', 'the answer was sent already'));
      } catch {
        // The stream was closed already.
      }
    }
    if (this.req.readableEnded || this.req.destroyed) return;
    let discarded = 0;
    this.req.on('data', (chunk: Uint8Array) => {
      discarded += chunk.byteLength;
      if (discarded > this.max) this.req.destroy();
    });
    this.req.resume();
  }

  private pull(): void {
    if (this.outcome !== undefined) return;
    // The client went away before the handler asked for the body (an `authorize` still thinking).
    if ((this.req.destroyed || this.req.errored) && !this.req.readableEnded) {
      this.onClose();
      return;
    }
    if (!this.listening) {
      this.listening = true;
      this.req.on('data', this.onData);
      this.req.on('end', this.onEnd);
    }
    this.req.resume();
  }

  private readonly onData = (chunk: Uint8Array | string) => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    this.size += bytes.byteLength;
    if (this.size > this.max) {
      this.settle('too large');
      this.controller?.error(
        new DashboardHttpError(413, 'PAYLOAD_TOO_LARGE', `the body is over ${this.max} bytes`),
      );
      return;
    }
    this.controller?.enqueue(bytes);
    // Wait for the handler's next read before taking more off the socket.
    if ((this.controller?.desiredSize ?? 0) <= 0) this.req.pause();
  };

  private readonly onEnd = () => {
    this.settle('read');
    this.controller?.close();
  };

  private readonly onError = (err: Error) => {
    this.settle('failed');
    // A client aborting its upload: the request's fault, answered 400, not logged as the handler's.
    this.controller?.error(
      new DashboardHttpError(400, 'BAD_REQUEST', `the request body could not be read: ${err.message}`),
    );
  };

  private readonly onClose = () => {
    this.settle('failed');
    this.controller?.error(
      new DashboardHttpError(400, 'BAD_REQUEST', 'the request closed before its body was read'),
    );
  };

  /** Records how the reading ended and stops listening to the request. */
  private settle(outcome: NonNullable<NodeRequestBody['outcome']>): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('error', this.onError);
    this.req.off('close', this.onClose);
    this.req.pause();
  }
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

function webRequest(
  req: NodeRequest,
  body: ReadableStream<Uint8Array> | undefined,
  signal: AbortSignal,
): Request {
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
  // A stream body needs `duplex: 'half'` (Node's undici; not yet in the DOM types).
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal, duplex: 'half' };
  return new Request(url, init);
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
