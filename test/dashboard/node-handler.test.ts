import { Agent, createServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardHandler, type DashboardQueue, toNodeHandler } from '../../src/dashboard.js';
import { createTwilioWebhookHandler } from '../../src/dialer/twilio/twilio-webhook.js';
import type { CallEvent } from '../../src/types.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

let fx: QueueFixture | undefined;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await fx?.close();
  fx = undefined;
});

/** Serves `listener` on a free port of 127.0.0.1; returns its origin. */
async function serve(listener: RequestListener): Promise<string> {
  server = createServer(listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The queue, with the listeners its event streams hold counted. */
async function dashboardQueue() {
  const dialer = new RecordingDialer({ durationMs: 'manual' });
  fx = await startQueue(dialer);
  const real = fx.queue;
  const held = { count: 0 };
  const queue: DashboardQueue = Object.create(real);
  queue.on = (event, listener) => {
    held.count++;
    real.on(event, listener);
    return queue as never;
  };
  queue.off = (event, listener) => {
    held.count--;
    real.off(event, listener);
    return queue as never;
  };
  return { queue, held, dialer };
}

describe('toNodeHandler', () => {
  it('serves the JSON routes over node:http, POSTs included', async () => {
    const { queue } = await dashboardQueue();
    const origin = await serve(
      toNodeHandler(createDashboardHandler({ queue, basePath: '/ops', authorize: () => true })),
    );
    const started = await fetch(`${origin}/ops/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ businessId: 'b', concurrency: 1, leads: leads(2) }),
    });
    expect(started.status).toBe(201);
    const { runId } = (await started.json()) as { runId: string };
    const res = await fetch(`${origin}/ops/api/runs?limit=10`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = (await res.json()) as { runs: { runId: string }[] };
    expect(page.runs.map((r) => r.runId)).toEqual([runId]);
    const forged = await fetch(`${origin}/ops/api/runs/${runId}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.test' },
      body: '{}',
    });
    expect(forged.status).toBe(403);
    expect((await fx!.queue.getRun(runId)).status).toBe('running');
  });

  it('streams each event as it comes, and cancels the stream when the client goes away', async () => {
    const { queue, held, dialer } = await dashboardQueue();
    const origin = await serve(
      toNodeHandler(createDashboardHandler({ queue, authorize: () => true, refreshMs: 60_000 })),
    );
    const run = await queue.startRun({ businessId: 'b', concurrency: 1, leads: leads(3) });
    const client = new AbortController();
    const res = await fetch(`${origin}/api/events`, { signal: client.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended before ${needle}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    // The stream is open (the run is far from done) and its first messages are here already.
    await readUntil('event: business');
    expect(text).toContain(`"runId":"${run.runId}"`);
    expect(held.count).toBe(4);
    await eventually(() => dialer.calls.length === 1);
    await dialer.end(dialer.calls[0]!.callId);
    await readUntil('"completed":1');

    client.abort();
    await eventually(() => held.count === 0, 10_000);
  });

  it('answers 413 for a body over the cap: declared, without calling the handler; chunked, once read past it', async () => {
    let called = 0;
    const errors: string[] = [];
    const origin = await serve(
      toNodeHandler(
        async (request) => {
          called++;
          return new Response(`read ${(await request.text()).length}`);
        },
        { maxBodyBytes: 1024 * 1024, logger: { error: (_obj, msg) => void errors.push(msg) } },
      ),
    );
    const declared = await fetch(`${origin}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' });
    expect(called).toBe(0);

    const chunk = new Uint8Array(64 * 1024).fill(120);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const chunked = await fetch(`${origin}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' });
    // The handler's read failed on the cut body; that is the client's doing, not logged.
    expect(called).toBe(1);
    expect(errors).toEqual([]);

    const small = await fetch(`${origin}/api/runs`, { method: 'POST', body: 'x'.repeat(1024) });
    expect(await small.text()).toBe('read 1024');
  });

  it('passes the body as a stream: a handler that answers first never has it read, and the connection serves the next request', async () => {
    const port = Number(
      new URL(
        await serve(
          toNodeHandler(async (request) => {
            if (request.url.endsWith('/refuse')) return new Response('no', { status: 403 });
            return new Response(`read ${(await request.text()).length}`);
          }),
        ),
      ).port,
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // The body is never ended: the answer comes all the same, the body unread.
      const refused = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(
          { port, host: '127.0.0.1', path: '/refuse', method: 'POST', agent },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => {
              resolve({ status: res.statusCode ?? 0, text });
              req.destroy();
            });
          },
        );
        req.on('error', reject);
        req.write('x'.repeat(16 * 1024));
      });
      expect(refused).toEqual({ status: 403, text: 'no' });

      // A refused body that was sent whole is read away: the same connection answers the next one.
      const post = (path: string, body: string) =>
        new Promise<{ status: number; text: string; socket: unknown }>((resolve, reject) => {
          const req = httpRequest({ port, host: '127.0.0.1', path, method: 'POST', agent }, (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text, socket: req.socket }));
          });
          req.on('error', reject);
          req.end(body);
        });
      const first = await post('/refuse', 'y'.repeat(64 * 1024));
      expect(first.status).toBe(403);
      const second = await post('/read', 'z'.repeat(1000));
      expect(second).toMatchObject({ status: 200, text: 'read 1000' });
      expect(second.socket).toBe(first.socket);
    } finally {
      agent.destroy();
    }
  });

  it('ends the body read of a client gone before the handler read it, and of one aborting mid-upload', async () => {
    const reads: Promise<string>[] = [];
    const errors: unknown[] = [];
    const origin = await serve(
      toNodeHandler(
        async (request) => {
          // An authorize still thinking while the client goes away.
          await new Promise((resolve) => setTimeout(resolve, 200));
          const read = request.text();
          reads.push(read);
          await read;
          return new Response('read');
        },
        { logger: { error: (obj) => errors.push(obj) } },
      ),
    );
    const { port } = new URL(origin);
    for (const whole of [true, false]) {
      const req = httpRequest({
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/json', 'content-length': whole ? '4' : '100' },
      });
      req.on('error', () => {});
      req.write('{"a"');
      setTimeout(() => req.destroy(), 50);
    }
    await eventually(() => reads.length === 2, 5000);
    const settled = await Promise.all(
      reads.map((read) =>
        Promise.race([
          read.then(
            () => 'read',
            (err: Error) => `rejected: ${err.message}`,
          ),
          new Promise((resolve) => setTimeout(() => resolve('pending'), 2000)),
        ]),
      ),
    );
    for (const outcome of settled) expect(outcome).toMatch(/^(read|rejected)/);
    expect(errors).toEqual([]);
  });

  it('cuts off a client that goes on sending more than the cap after a refusal', async () => {
    const port = Number(
      new URL(
        await serve(toNodeHandler(async () => new Response('no', { status: 403 }), { maxBodyBytes: 1024 })),
      ).port,
    );
    const closed = await new Promise<{ status: number }>((resolve, reject) => {
      let status = 0;
      const req = httpRequest({ port, host: '127.0.0.1', path: '/', method: 'POST' }, (res) => {
        status = res.statusCode ?? 0;
        res.resume();
        // Keep sending after the answer: the server stops reading after twice the cap.
        const more = setInterval(() => req.write('m'.repeat(512)), 5);
        req.socket?.once('close', () => {
          clearInterval(more);
          resolve({ status });
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve({ status }));
      setTimeout(() => reject(new Error('the connection stayed open')), 10_000).unref();
      req.write('x'.repeat(100));
    });
    expect(closed.status).toBe(403);
  });

  it('refuses an unauthorized POST of the dashboard before its body is read', async () => {
    const { queue } = await dashboardQueue();
    const port = Number(
      new URL(await serve(toNodeHandler(createDashboardHandler({ queue, authorize: () => false })))).port,
    );
    const refused = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          path: '/api/runs',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, text });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      // A body that never ends: a server that read it first would never answer.
      req.write('{"businessId":"b","concurrency":1,"leads":[');
    });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toMatchObject({ error: 'FORBIDDEN' });
    expect(await fx!.queue.listRuns()).toEqual([]);
  });

  it('answers 413 for a body over 10 MB by default', async () => {
    const { queue } = await dashboardQueue();
    const origin = await serve(toNodeHandler(createDashboardHandler({ queue, authorize: () => true })));
    const res = await fetch(`${origin}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ businessId: 'b', concurrency: 1, leads: [], pad: 'x'.repeat(10 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(await fx!.queue.listRuns()).toEqual([]);
  });

  it("reads Express's originalUrl, so the handler sees its mount path", async () => {
    const { queue } = await dashboardQueue();
    const app = express();
    app.use(
      '/ops',
      toNodeHandler(createDashboardHandler({ queue, basePath: '/ops', authorize: () => true })),
    );
    const origin = await serve(app);
    expect((await fetch(`${origin}/ops/api/runs`)).status).toBe(200);
    const redirect = await fetch(`${origin}/ops`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/ops/');
    const page = await fetch(`${origin}/ops/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('serves the Twilio webhook handler: the full URL and the form body reach it', async () => {
    const seen: { url: string; params: unknown; signature: unknown }[] = [];
    const events: CallEvent[] = [];
    const handler = createTwilioWebhookHandler({
      dialer: {
        parseWebhook(input) {
          seen.push(input);
          return { jobId: 'j1', status: 'completed' };
        },
      },
      queue: { handleCallEvent: async (event) => void events.push(event) },
    });
    const origin = await serve(toNodeHandler(handler));
    const res = await fetch(`${origin}/twilio/status?jobId=j1&lockToken=t`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'sig' },
      body: 'CallSid=CA1&CallStatus=completed',
    });
    expect(res.status).toBe(204);
    expect(seen).toEqual([
      {
        url: `${origin}/twilio/status?jobId=j1&lockToken=t`,
        params: { CallSid: 'CA1', CallStatus: 'completed' },
        signature: 'sig',
      },
    ]);
    expect(events).toHaveLength(1);
  });

  it('passes status, headers (each Set-Cookie) and bodies through; a throwing handler answers 500, logged', async () => {
    const errors: string[] = [];
    const origin = await serve(
      toNodeHandler(
        async (request) => {
          if (request.url.endsWith('/throw')) throw new Error('boom');
          const headers = new Headers({
            'x-method': request.method,
            'x-echo': request.headers.get('x-in') ?? '',
          });
          headers.append('set-cookie', 'a=1');
          headers.append('set-cookie', 'b=2');
          return new Response(request.method === 'GET' ? 'hello' : await request.text(), {
            status: 202,
            headers,
          });
        },
        { logger: { error: (_obj, msg) => void errors.push(msg) } },
      ),
    );
    const got = await fetch(`${origin}/x`, { headers: { 'x-in': 'v' } });
    expect(got.status).toBe(202);
    expect(got.headers.get('x-echo')).toBe('v');
    expect(got.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await got.text()).toBe('hello');
    const posted = await fetch(`${origin}/x`, { method: 'PUT', body: 'body text' });
    expect(await posted.text()).toBe('body text');
    const head = await fetch(`${origin}/x`, { method: 'HEAD' });
    expect(head.status).toBe(202);
    expect(await head.text()).toBe('');

    const failed = await fetch(`${origin}/throw`);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: 'INTERNAL', message: 'internal error' });
    expect(errors).toEqual(['OUTBOUND_NODE_HANDLER_FAILED']);
  });
});
