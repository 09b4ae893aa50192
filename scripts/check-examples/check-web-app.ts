/**
 * Smoke check of examples/web-app: starts the server on a free port with a throwaway SQLite file,
 * drives every JSON route over HTTP and checks status codes and bodies, then stops it with
 * SIGTERM and expects a clean exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNothingLeft, startExample } from './child.js';
import { expect } from './expect.js';

type Body = Record<string, unknown>;

export async function checkWebApp(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'oq-web-app-'));
  const server = startExample('web-app', 'examples/web-app/server.ts', [], {
    PORT: '0',
    DB_FILE: join(dir, 'web-app.sqlite'),
    SIM_MIN_MS: '300',
    SIM_MAX_MS: '800',
  });
  try {
    const [, port] = await server.waitFor(/web app on http:\/\/localhost:(\d+)/, 30_000);
    await drive(`http://127.0.0.1:${port}`);
    server.process.kill('SIGTERM');
    expect((await server.exited(15_000)) === 0, 'web-app exits 0 on SIGTERM');
    await assertNothingLeft(server);
  } finally {
    server.killGroup();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

async function drive(base: string): Promise<void> {
  const business = `check-${process.pid}`;
  const leads = (n: number, from: number) =>
    Array.from({ length: n }, (_, i) => ({ to: `+1415555${String(from + i).padStart(4, '0')}` }));
  const first = { businessId: business, concurrency: 2, runId: `${business}-a`, leads: leads(6, 2101) };

  const created = await call(base, 'POST', '/runs', first);
  const run = created.body as Body;
  expect(created.status === 201, 'POST /runs answers 201 for a new run', created);
  expect(run.runId === first.runId && run.created === true && run.total === 6, 'the new run', run);
  const again = await call(base, 'POST', '/runs', first);
  expect(again.status === 200 && (again.body as Body).created === false, 'the same runId: 200', again);
  const conflict = await call(base, 'POST', '/runs', { ...first, concurrency: 3 });
  expect(conflict.status === 409, 'the same runId with other input: 409', conflict);
  const invalid = await call(base, 'POST', '/runs', {
    businessId: business,
    concurrency: 2,
    leads: [{ to: 'x' }],
  });
  const issues = (invalid.body as Body).issues;
  expect(invalid.status === 400 && Array.isArray(issues) && issues.length > 0, 'a bad number: 400', invalid);

  const second = await call(base, 'POST', '/runs', {
    businessId: business,
    concurrency: 1,
    leads: leads(2, 2201),
  });
  expect(second.status === 201, 'a second run: 201', second);
  const secondId = (second.body as Body).runId;

  const read = await call(base, 'GET', `/runs/${encodeURIComponent(first.runId)}`);
  expect(read.status === 200 && (read.body as Body).runId === first.runId, 'GET /runs/:id', read);
  const missing = await call(base, 'GET', '/runs/no-such-run');
  expect(missing.status === 404, 'GET /runs/:id of an unknown run: 404', missing);

  const listed = await call(base, 'GET', `/runs?businessId=${business}`);
  const ids = Array.isArray(listed.body) ? listed.body.map((r: Body) => r.runId) : [];
  expect(
    listed.status === 200 && ids.join() === [secondId, first.runId].join(),
    'GET /runs, newest first',
    listed,
  );
  const page = await call(base, 'GET', `/runs?businessId=${business}&limit=1`);
  expect(
    page.status === 200 && Array.isArray(page.body) && page.body.length === 1,
    'GET /runs?limit=1',
    page,
  );
  const next = await call(base, 'GET', `/runs?businessId=${business}&limit=1&after=${secondId}`);
  const nextIds = Array.isArray(next.body) ? next.body.map((r: Body) => r.runId) : [];
  expect(
    next.status === 200 && nextIds.join() === first.runId,
    'GET /runs?after=<runId>: the next page',
    next,
  );
  const badStatus = await call(base, 'GET', '/runs?status=nonsense');
  expect(badStatus.status === 400, 'GET /runs?status=nonsense: 400', badStatus);

  const jobs = await call(base, 'GET', `/runs/${encodeURIComponent(first.runId)}/jobs?limit=2`);
  const [job] = Array.isArray(jobs.body) ? (jobs.body as Body[]) : [];
  expect(
    jobs.status === 200 && job !== undefined && Array.isArray(jobs.body) && jobs.body.length === 2,
    'GET /runs/:id/jobs',
    jobs,
  );
  const oneJob = await call(base, 'GET', `/jobs/${encodeURIComponent(String(job?.jobId))}`);
  expect(oneJob.status === 200 && (oneJob.body as Body).jobId === job?.jobId, 'GET /jobs/:id', oneJob);
  const noJob = await call(base, 'GET', '/jobs/no-such-job');
  expect(noJob.status === 404, 'GET /jobs/:id of an unknown job: 404', noJob);

  for (const id of [first.runId, secondId]) {
    const stopped = await call(base, 'POST', `/runs/${encodeURIComponent(String(id))}/stop`, {});
    expect(
      stopped.status === 200 && (stopped.body as Body).status === 'stopped',
      `POST /runs/${id}/stop`,
      stopped,
    );
  }
  const after = await call(base, 'GET', `/runs/${encodeURIComponent(first.runId)}`);
  expect((after.body as Body).status === 'stopped', 'the run reads stopped', after);
}
