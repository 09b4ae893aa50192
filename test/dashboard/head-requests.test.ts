import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardHandler, type DashboardHandler } from '../../src/dashboard.js';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';

let fx: QueueFixture;
let handler: DashboardHandler;
let runId: string;
let jobId: string;
beforeAll(async () => {
  fx = await startQueue(new SimulatedDialer({ durationMs: 5 }));
  handler = createDashboardHandler({ queue: fx.queue, basePath: '/ops', authorize: () => true });
  ({ runId } = await fx.queue.startRun({
    businessId: 'shop',
    concurrency: 1,
    leads: leads(2),
    startAt: Date.now() + 3_600_000,
  }));
  jobId = (await fx.queue.listJobs(runId))[0]!.jobId;
});
afterAll(async () => fx.close());

const request = (path: string, method: string) => handler(new Request(`http://h/ops/${path}`, { method }));

describe('HEAD', () => {
  it('answers the page, the assets and the JSON GETs as GET does, without a body', async () => {
    const paths = [
      '',
      'assets/dashboard.js',
      'assets/api.js',
      'assets/dashboard.css',
      'api/runs',
      'api/runs?status=running&limit=1',
      `api/runs/${runId}`,
      `api/runs/${runId}/jobs`,
      `api/jobs/${jobId}`,
      'api/businesses/shop',
    ];
    for (const path of paths) {
      const get = await request(path, 'GET');
      const head = await request(path, 'HEAD');
      expect(head.status, path).toBe(200);
      expect(head.body, path).toBeNull();
      const bytes = new Uint8Array(await get.arrayBuffer());
      expect(head.headers.get('content-length'), path).toBe(String(bytes.byteLength));
      const headers = (res: Response) => [...res.headers].filter(([name]) => name !== 'content-length');
      expect(headers(head), path).toEqual(headers(get));
    }
  });

  it('answers errors and refusals with their status and headers only', async () => {
    const missing = await request('api/runs/nope', 'HEAD');
    expect(missing.status).toBe(404);
    expect(missing.body).toBeNull();
    expect(missing.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await request('no/such/page', 'HEAD')).status).toBe(404);
    const redirect = await handler(new Request('http://h/ops?x=1', { method: 'HEAD' }));
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/ops/?x=1');

    const refused = createDashboardHandler({
      queue: fx.queue,
      authorize: () => new Response('log in', { status: 401, headers: { 'www-authenticate': 'Basic' } }),
    });
    const head = await refused(new Request('http://h/', { method: 'HEAD' }));
    expect(head.status).toBe(401);
    expect(head.headers.get('www-authenticate')).toBe('Basic');
    expect(head.body).toBeNull();
  });

  it('is refused (405) on the event stream and on POST-only routes, and listed in Allow', async () => {
    let listeners = 0;
    const queue = Object.create(fx.queue) as typeof fx.queue;
    queue.on = (() => {
      listeners++;
      return queue;
    }) as typeof queue.on;
    const counted = createDashboardHandler({ queue, authorize: () => true });
    const events = await counted(new Request('http://h/api/events', { method: 'HEAD' }));
    expect(events.status).toBe(405);
    expect(events.headers.get('allow')).toBe('GET');
    expect(events.body).toBeNull();
    // No stream was opened for it.
    expect(listeners).toBe(0);

    const pause = await request(`api/runs/${runId}/pause`, 'HEAD');
    expect(pause.status).toBe(405);
    expect(pause.headers.get('allow')).toBe('POST');
    expect((await fx.queue.getRun(runId)).status).toBe('running');
    const runs = await request('api/runs', 'DELETE');
    expect(runs.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});
