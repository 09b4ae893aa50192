import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardHandler, type DashboardHandler } from '../../src/dashboard.js';
import type { Dialer } from '../../src/dialer/dialer.js';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { MemoryLogger, RecordingDialer } from '../support/recording-dialer.js';

const ORIGIN = 'http://ops.test';

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from the API, checked by the assertions
type Json = any;

/** A response whose JSON the test reads as it pleases. */
interface ApiResponse extends Response {
  json(): Promise<Json>;
}

let fx: QueueFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function dashboard(dialer: Dialer = new SimulatedDialer({ durationMs: 5 })): Promise<DashboardHandler> {
  fx = await startQueue(dialer);
  return createDashboardHandler({ queue: fx.queue, basePath: '/ops', authorize: () => true });
}

const get = (handler: DashboardHandler, path: string) =>
  handler(new Request(`${ORIGIN}/ops/${path}`)) as Promise<ApiResponse>;

const post = (handler: DashboardHandler, path: string, body?: unknown) =>
  handler(
    new Request(`${ORIGIN}/ops/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  ) as Promise<ApiResponse>;

describe('dashboard JSON API', () => {
  it('starts a run from JSON (201), then answers 200 for the same runId', async () => {
    const handler = await dashboard();
    const input = { businessId: 'b1', concurrency: 2, leads: leads(3), runId: 'run-a' };
    const created = await post(handler, 'api/runs', input);
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(created.headers.get('cache-control')).toBe('no-store');
    const body = await created.json();
    expect(body).toMatchObject({ runId: 'run-a', businessId: 'b1', total: 3, created: true });
    expect(typeof body.createdAt).toBe('string');
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);

    const again = await post(handler, 'api/runs', input);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ runId: 'run-a', created: false });

    const conflict = await post(handler, 'api/runs', { ...input, concurrency: 3 });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: 'IDEMPOTENCY_CONFLICT' });
  });

  it('answers a ValidationError with 400 and its issues: the bad row and the row a duplicate repeats', async () => {
    const handler = await dashboard();
    const rows = leads(4);
    rows[1] = { to: 'not a number' };
    rows[3] = { to: rows[0]!.to };
    const res = await post(handler, 'api/runs', { businessId: 'b1', concurrency: 2, leads: rows });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toBe('VALIDATION');
    expect(body.issueCount).toBe(body.issues.length);
    expect(body.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ row: 1, field: 'to' }),
        expect.objectContaining({ row: 3, field: 'to', duplicateOf: 0 }),
      ]),
    );
    expect(await fx!.queue.listRuns()).toEqual([]);
  });

  it('turns ISO startAt and notBefore into dates, and leaves other strings for startRun to name', async () => {
    const handler = await dashboard();
    const later = new Date(Date.now() + 3_600_000);
    const evenLater = new Date(later.getTime() + 60_000);
    // Written with an offset: the instant is the same as the UTC one.
    const offset = `${new Date(evenLater.getTime() + 7_200_000).toISOString().slice(0, -1)}+02:00`;
    const rows = leads(2);
    const scheduled = await post(handler, 'api/runs', {
      businessId: 'b1',
      concurrency: 1,
      startAt: later.toISOString(),
      leads: [{ ...rows[0], notBefore: offset }, rows[1]],
    });
    expect(scheduled.status).toBe(201);
    const run = await scheduled.json();
    expect(run.waiting.scheduled).toBe(2);
    const jobs = (await (await get(handler, `api/runs/${run.runId}/jobs`)).json()).jobs;
    const retryAt = async (jobId: string) => (await (await get(handler, `api/jobs/${jobId}`)).json()).retryAt;
    expect(await retryAt(jobs[0].jobId)).toBe(evenLater.toISOString());
    expect(await retryAt(jobs[1].jobId)).toBe(later.toISOString());

    const epoch = await post(handler, 'api/runs', {
      businessId: 'b2',
      concurrency: 1,
      startAt: Date.now() + 3_600_000,
      leads: leads(1),
    });
    expect(epoch.status).toBe(201);

    const bad = await post(handler, 'api/runs', {
      businessId: 'b1',
      concurrency: 1,
      startAt: 'tomorrow',
      leads: [{ ...rows[0], notBefore: '2030-01-01T09:00' }],
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).issues).toEqual([
      expect.objectContaining({ field: 'startAt' }),
      expect.objectContaining({ row: 0, field: 'notBefore' }),
    ]);
  });

  it('pages runs newest first with next, and filters by business and status', async () => {
    const handler = await dashboard(new RecordingDialer({ durationMs: 'manual' }));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post(handler, 'api/runs', {
        runId: `r${i}`,
        businessId: i % 2 === 0 ? 'even' : 'odd',
        concurrency: 1,
        leads: leads(1, i),
      });
      expect(res.status).toBe(201);
      ids.push(`r${i}`);
    }
    await post(handler, 'api/runs/r1/pause', {});
    await post(handler, 'api/runs/r2/stop', {});

    const first = await (await get(handler, 'api/runs?limit=2')).json();
    const newest = (await fx!.queue.listRuns()).map((run) => run.runId);
    expect(first.runs.map((r: { runId: string }) => r.runId)).toEqual(newest.slice(0, 2));
    expect(first.next).toBe(newest[1]);
    const second = await (await get(handler, `api/runs?limit=2&after=${first.next}`)).json();
    expect(second.runs.map((r: { runId: string }) => r.runId)).toEqual(newest.slice(2, 4));
    const last = await (await get(handler, `api/runs?limit=2&after=${second.next}`)).json();
    expect(last.runs.map((r: { runId: string }) => r.runId)).toEqual(newest.slice(4));
    expect(last).not.toHaveProperty('next');
    expect(first.runs[0]).not.toHaveProperty('waiting');
    expect(Object.keys(first.runs[0].counts)).toContain('canceled');

    const exact = await (await get(handler, 'api/runs?limit=5')).json();
    expect(exact.runs).toHaveLength(5);
    expect(exact).not.toHaveProperty('next');

    const even = await (await get(handler, 'api/runs?businessId=even&status=')).json();
    expect(even.runs.map((r: { runId: string }) => r.runId).sort()).toEqual(['r0', 'r2', 'r4']);
    const live = await (await get(handler, 'api/runs?status=paused&status=stopped')).json();
    expect(live.runs.map((r: { runId: string; status: string }) => [r.runId, r.status]).sort()).toEqual([
      ['r1', 'paused'],
      ['r2', 'stopped'],
    ]);
    const evenRunning = await (await get(handler, 'api/runs?businessId=even&status=running')).json();
    expect(evenRunning.runs.map((r: { runId: string }) => r.runId).sort()).toEqual(['r0', 'r4']);

    for (const query of ['limit=0', 'limit=1001', 'limit=two', 'status=nope', 'after=missing']) {
      const res = await get(handler, `api/runs?${query}`);
      expect(res.status, query).toBe(400);
      expect((await res.json()).error, query).toBe('VALIDATION');
    }
  });

  it('pages at the largest page size: next only when a row follows', async () => {
    const handler = await dashboard(new RecordingDialer({ durationMs: 'manual' }));
    const run = await fx!.queue.startRun({ businessId: 'big', concurrency: 1, leads: leads(1001) });
    const first = await (await get(handler, `api/runs/${run.runId}/jobs?limit=1000`)).json();
    expect(first.jobs).toHaveLength(1000);
    expect(first.next).toBe(first.jobs[999].jobId);
    const rest = await (
      await get(handler, `api/runs/${run.runId}/jobs?limit=1000&after=${first.next}`)
    ).json();
    expect(rest.jobs).toHaveLength(1);
    expect(rest).not.toHaveProperty('next');
  });

  it("reads a run's progress, its jobs with attempts and error codes, and a business's load", async () => {
    const dialer = new SimulatedDialer({
      durationMs: 5,
      outcome: (req) => (req.to.endsWith('1') ? 'busy' : 'completed'),
      failDial: (req) => req.to.endsWith('2'),
    });
    const handler = await dashboard(dialer);
    const start = await post(handler, 'api/runs', { businessId: 'shop', concurrency: 2, leads: leads(4) });
    const { runId } = await start.json();
    await fx!.queue.waitForRun(runId, { timeoutMs: 10_000 });
    await post(handler, 'api/runs', {
      businessId: 'shop',
      concurrency: 3,
      leads: leads(2, 10),
      startAt: Date.now() + 3_600_000,
    });

    const run = await (await get(handler, `api/runs/${runId}`)).json();
    expect(run).toMatchObject({ runId, status: 'completed', total: 4, active: 0 });
    expect(run.counts).toMatchObject({ completed: 2, busy: 1, failed: 1, canceled: 0 });
    expect(run.waiting).toEqual({ retry: 0, scheduled: 0, window: 0, cap: 0 });
    expect(typeof run.finishedAt).toBe('string');

    const page = await (await get(handler, `api/runs/${runId}/jobs?status=failed&status=busy`)).json();
    expect(page.jobs.map((job: { to: string; status: string }) => [job.to, job.status]).sort()).toEqual([
      [leads(4)[1]!.to, 'busy'],
      [leads(4)[2]!.to, 'failed'],
    ]);
    const failed = page.jobs.find((job: { status: string }) => job.status === 'failed');
    expect(failed).not.toHaveProperty('attempts');

    const job = await (await get(handler, `api/jobs/${encodeURIComponent(failed.jobId)}`)).json();
    expect(job).toMatchObject({ jobId: failed.jobId, status: 'failed', errorCode: 'SIMULATED_FAILURE' });
    expect(job.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status: 'failed', errorCode: 'SIMULATED_FAILURE' }),
    ]);
    expect(typeof job.attempts[0].startedAt).toBe('string');

    const business = await (await get(handler, 'api/businesses/shop')).json();
    expect(business).toMatchObject({ businessId: 'shop', active: 0, limit: 3, waiting: 2, paused: false });
    expect(business.runs).toHaveLength(1);
    await fx!.queue.setBusinessLimits('shop', { concurrency: 7 });
    expect(await (await get(handler, 'api/businesses/shop')).json()).toMatchObject({
      limit: 7,
      concurrency: 7,
    });
    expect(await (await get(handler, 'api/businesses/nobody')).json()).toMatchObject({
      businessId: 'nobody',
      active: 0,
      limit: 0,
      waiting: 0,
    });
  });

  it('pauses, resumes and stops a run, with or without hanging up its calls', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const hungUp: string[] = [];
    dialer.hangup = async (callId) => {
      hungUp.push(callId);
      await dialer.end(callId, 'completed');
    };
    const handler = await dashboard(dialer);
    const { runId } = await (
      await post(handler, 'api/runs', { businessId: 'b', concurrency: 2, leads: leads(6) })
    ).json();
    await eventually(() => dialer.calls.length === 2);

    const paused = await post(handler, `api/runs/${runId}/pause`);
    expect(paused.status).toBe(200);
    expect(await paused.json()).toMatchObject({ runId, status: 'paused' });
    const resumed = await post(handler, `api/runs/${runId}/resume`, {});
    expect(await resumed.json()).toMatchObject({ runId, status: 'running' });

    await eventually(async () =>
      (await fx!.queue.listJobs(runId, { status: 'dialing' })).every((job) => job.callId),
    );
    const stopped = await post(handler, `api/runs/${runId}/stop`, { hangup: true });
    expect(stopped.status).toBe(200);
    expect(await stopped.json()).toMatchObject({ runId, status: 'stopped' });
    expect(hungUp).toHaveLength(2);
    const done = await fx!.queue.waitForRun(runId, { timeoutMs: 5000 });
    expect(done.counts).toMatchObject({ completed: 2, canceled: 4 });

    // Stopping a stopped run is no error; resuming or pausing it is.
    expect((await post(handler, `api/runs/${runId}/stop`)).status).toBe(200);
    for (const action of ['resume', 'pause']) {
      const res = await post(handler, `api/runs/${runId}/${action}`);
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ error: 'INVALID_STATE' });
    }
  });

  it('stops without hanging up: calls in progress end naturally', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const hungUp: string[] = [];
    dialer.hangup = async (callId) => void hungUp.push(callId);
    const handler = await dashboard(dialer);
    const { runId } = await (
      await post(handler, 'api/runs', { businessId: 'b', concurrency: 1, leads: leads(3) })
    ).json();
    await eventually(() => dialer.calls.length === 1);
    const stopped = await post(handler, `api/runs/${runId}/stop`, { hangup: false });
    expect(await stopped.json()).toMatchObject({ status: 'stopped', active: 1 });
    expect(hungUp).toEqual([]);

    for (const body of [{ hangup: 'yes' }, [true], 'hangup']) {
      const res = await post(handler, `api/runs/${runId}/stop`, body);
      expect(res.status).toBe(400);
      expect((await res.json()).error).toBe('VALIDATION');
    }
  });

  it('answers 404 for unknown runs, jobs and routes, 405 for a wrong method, 400 for bad JSON', async () => {
    const handler = await dashboard();
    for (const path of [
      'api/runs/none',
      'api/runs/none/jobs',
      'api/jobs/none',
      'api/nothing',
      'api/runs/x/y/z',
      'api/runs/',
    ]) {
      const res = await get(handler, path);
      expect(res.status, path).toBe(404);
      expect((await res.json()).error, path).toBe('NOT_FOUND');
    }
    for (const action of ['pause', 'resume', 'stop']) {
      expect((await post(handler, `api/runs/none/${action}`)).status).toBe(404);
    }
    const wrongMethod = await post(handler, 'api/runs/none');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
    expect(await wrongMethod.json()).toMatchObject({ error: 'METHOD_NOT_ALLOWED' });
    const del = await handler(new Request(`${ORIGIN}/ops/api/runs`, { method: 'DELETE' }));
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD, POST');
    expect((await get(handler, 'api/events')).status).toBe(200);

    const notJson = await handler(
      new Request(`${ORIGIN}/ops/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"businessId":',
      }),
    );
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: 'BAD_REQUEST' });
    const empty = await post(handler, 'api/runs');
    expect(empty.status).toBe(400);
    expect((await empty.json()).error).toBe('VALIDATION');
  });

  it('answers 500 without details for an unexpected failure, and logs it', async () => {
    fx = await startQueue(new SimulatedDialer({ durationMs: 5 }));
    const logger = new MemoryLogger();
    const queue = Object.create(fx.queue) as typeof fx.queue;
    queue.getRun = async () => {
      throw new Error('disk on fire');
    };
    const handler = createDashboardHandler({ queue, authorize: () => true, logger });
    const res = await handler(new Request(`${ORIGIN}/api/runs/r1`));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'INTERNAL', message: 'internal error' });
    expect(logger.named('OUTBOUND_DASHBOARD_FAILED')).toHaveLength(1);
    expect(String(logger.named('OUTBOUND_DASHBOARD_FAILED')[0]!.obj.err)).toContain('disk on fire');

    await fx.queue.close();
    const closed = await createDashboardHandler({ queue: fx.queue, authorize: () => true, logger })(
      new Request(`${ORIGIN}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ businessId: 'b', concurrency: 1, leads: leads(1) }),
      }),
    );
    expect(closed.status).toBe(503);
    expect(((await closed.json()) as Json).error).toBe('CLOSED');
  });
});
