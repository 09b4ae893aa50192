import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardHandler } from '../../src/dashboard.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { MemoryLogger, RecordingDialer } from '../support/recording-dialer.js';

const ORIGIN = 'http://ops.test';

let fx: QueueFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** A queue with one running run whose first call is live, and what its state reads. */
async function runningQueue() {
  const dialer = new RecordingDialer({ durationMs: 'manual' });
  dialer.hangup = async (callId) => dialer.end(callId);
  fx = await startQueue(dialer);
  const run = await fx.queue.startRun({ businessId: 'b', concurrency: 1, leads: leads(3) });
  await eventually(() => dialer.calls.length === 1);
  const queue = fx.queue;
  const state = async () => ({
    runs: (await queue.listRuns()).map((r) => [r.runId, r.status, r.counts]),
    dials: dialer.calls.length,
    liveCalls: dialer.liveCalls().length,
  });
  return { runId: run.runId, queue, state };
}

/** The `error` of a JSON error answer. */
async function errorOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}

function startBody() {
  return JSON.stringify({ businessId: 'b', concurrency: 1, leads: leads(1, 50) });
}

function postRequest(path: string, headers: Record<string, string>, body: string | undefined = startBody()) {
  return new Request(`${ORIGIN}${path}`, { method: 'POST', headers, body });
}

describe('CSRF: POSTs only from the same origin, as JSON', () => {
  it('refuses another origin, a cross-site fetch and a form body, and changes nothing', async () => {
    const { runId, queue, state } = await runningQueue();
    const handler = createDashboardHandler({ queue, authorize: () => true });
    const before = await state();
    const json = { 'content-type': 'application/json' };
    const cases: [Request, number, string][] = [
      [postRequest('/api/runs', { ...json, origin: 'http://evil.test' }), 403, 'CSRF'],
      [postRequest('/api/runs', { ...json, origin: 'null' }), 403, 'CSRF'],
      [postRequest('/api/runs', { ...json, origin: 'https://ops.test' }), 403, 'CSRF'],
      [postRequest('/api/runs', { ...json, 'sec-fetch-site': 'cross-site' }), 403, 'CSRF'],
      [postRequest('/api/runs', { ...json, origin: ORIGIN, 'sec-fetch-site': 'same-site' }), 403, 'CSRF'],
      [
        postRequest(`/api/runs/${runId}/stop`, { ...json, origin: 'http://evil.test' }, '{"hangup":true}'),
        403,
        'CSRF',
      ],
      [postRequest(`/api/runs/${runId}/pause`, { ...json, 'sec-fetch-site': 'cross-site' }, ''), 403, 'CSRF'],
      [
        postRequest('/api/runs', { 'content-type': 'application/x-www-form-urlencoded' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [postRequest('/api/runs', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [
        postRequest('/api/runs', { 'content-type': 'multipart/form-data; boundary=x' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [postRequest(`/api/runs/${runId}/stop`, {}, '{"hangup":true}'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ];
    for (const [request, status, error] of cases) {
      const res = await handler(request);
      expect(res.status, `${request.url} ${[...request.headers]}`).toBe(status);
      expect(await errorOf(res)).toBe(error);
    }
    expect(await state()).toEqual(before);
  });

  it('accepts the same origin, a request without Origin, Sec-Fetch-Site none, and publicUrl', async () => {
    const { queue } = await runningQueue();
    const handler = createDashboardHandler({
      queue,
      authorize: () => true,
      publicUrl: 'https://ops.example.com/x',
    });
    const json = { 'content-type': 'application/json; charset=utf-8' };
    const accepted = [
      { ...json, origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
      json,
      { ...json, 'sec-fetch-site': 'none' },
      { ...json, origin: 'https://ops.example.com' },
    ];
    for (const [i, headers] of accepted.entries()) {
      const res = await handler(
        postRequest(
          '/api/runs',
          headers,
          JSON.stringify({ businessId: 'b', concurrency: 1, leads: leads(1, 60 + i) }),
        ),
      );
      expect(res.status, JSON.stringify(headers)).toBe(201);
    }
    expect(await queue.listRuns()).toHaveLength(5);
  });
});

describe('authorize', () => {
  it('false answers 403 on every route, page included, and changes nothing', async () => {
    const { runId, queue, state } = await runningQueue();
    const seen: string[] = [];
    const handler = createDashboardHandler({
      queue,
      basePath: '/ops',
      authorize: (request) => {
        seen.push(new URL(request.url).pathname);
        return false;
      },
    });
    const before = await state();
    const json = { 'content-type': 'application/json', origin: ORIGIN };
    const requests = [
      new Request(`${ORIGIN}/ops/`),
      new Request(`${ORIGIN}/ops`),
      new Request(`${ORIGIN}/ops/assets/dashboard.js`),
      new Request(`${ORIGIN}/ops/api/runs`),
      new Request(`${ORIGIN}/ops/api/events`),
      new Request(`${ORIGIN}/ops/api/nothing`),
      postRequest('/ops/api/runs', json),
      postRequest(`/ops/api/runs/${runId}/stop`, json, '{"hangup":true}'),
      postRequest(`/ops/api/runs/${runId}/pause`, json, '{}'),
    ];
    for (const request of requests) {
      const res = await handler(request);
      expect(res.status, request.url).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'FORBIDDEN' });
    }
    expect(seen).toHaveLength(requests.length);
    expect(await state()).toEqual(before);
    expect((await queue.getRun(runId)).status).toBe('running');
  });

  it("sends the host's own Response as it is (a 401 asking for credentials), and changes nothing", async () => {
    const { runId, queue, state } = await runningQueue();
    const handler = createDashboardHandler({
      queue,
      authorize: async (request) =>
        request.headers.get('authorization') === 'Bearer ok' ||
        new Response('log in', {
          status: 401,
          headers: { 'www-authenticate': 'Basic realm="outbound-queue"' },
        }),
    });
    const before = await state();
    const refused = await handler(
      postRequest(`/api/runs/${runId}/stop`, { 'content-type': 'application/json' }, '{}'),
    );
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="outbound-queue"');
    expect(await refused.text()).toBe('log in');
    expect((await handler(postRequest('/api/runs', { 'content-type': 'application/json' }))).status).toBe(
      401,
    );
    expect(await state()).toEqual(before);

    const allowed = await handler(
      postRequest(
        `/api/runs/${runId}/pause`,
        { 'content-type': 'application/json', authorization: 'Bearer ok' },
        '',
      ),
    );
    expect(allowed.status).toBe(200);
    expect((await queue.getRun(runId)).status).toBe('paused');
  });

  it('refuses what is neither true nor a Response (a check that forgot to return)', async () => {
    const { queue } = await runningQueue();
    for (const verdict of [undefined, 'yes', 1, {}]) {
      const handler = createDashboardHandler({ queue, authorize: (() => verdict) as never });
      expect((await handler(new Request(`${ORIGIN}/api/runs`))).status).toBe(403);
    }
  });

  it('a throwing authorize answers 500, is logged, and changes nothing', async () => {
    const { queue, state } = await runningQueue();
    const logger = new MemoryLogger();
    const handler = createDashboardHandler({
      queue,
      logger,
      authorize: async () => {
        throw new Error('session store down');
      },
    });
    const before = await state();
    const res = await handler(postRequest('/api/runs', { 'content-type': 'application/json' }));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'INTERNAL', message: 'internal error' });
    expect(logger.named('OUTBOUND_DASHBOARD_AUTHORIZE_FAILED')).toHaveLength(1);
    expect(await state()).toEqual(before);
  });

  it('is not asked about requests outside basePath, which answer 404', async () => {
    const { queue } = await runningQueue();
    let asked = 0;
    const handler = createDashboardHandler({ queue, basePath: '/ops', authorize: () => ++asked > 0 });
    for (const path of ['/', '/opsx', '/other/api/runs', '/op']) {
      expect((await handler(new Request(`${ORIGIN}${path}`))).status, path).toBe(404);
    }
    expect(asked).toBe(0);
  });
});

describe('request bodies', () => {
  it('answers 413 for a body over 10 MB, declared or streamed, and writes nothing', async () => {
    const { queue, state } = await runningQueue();
    const handler = createDashboardHandler({ queue, authorize: () => true });
    const before = await state();
    const big = `{"businessId":"b","concurrency":1,"leads":[],"pad":"${'x'.repeat(10 * 1024 * 1024)}"}`;
    const declared = await handler(postRequest('/api/runs', { 'content-type': 'application/json' }, big));
    expect(declared.status).toBe(413);
    expect(await errorOf(declared)).toBe('PAYLOAD_TOO_LARGE');

    const chunk = new Uint8Array(1024 * 1024).fill(32);
    let sent = 0;
    const streamed = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 12) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await handler(
      new Request(`${ORIGIN}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: streamed,
        duplex: 'half',
      } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(13);
    expect(await state()).toEqual(before);
  });

  it('answers 400 for a body that is not UTF-8', async () => {
    const { queue } = await runningQueue();
    const handler = createDashboardHandler({ queue, authorize: () => true });
    const res = await handler(
      new Request(`${ORIGIN}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      }),
    );
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe('BAD_REQUEST');
  });
});
