/**
 * Smoke check of examples/multi-process on throwaway servers: a redis-server and a PostgreSQL
 * started from the binaries on PATH (the test suite's helpers), 3 workers, one run each for two
 * businesses started from processes that never dispatch. Every job must end `completed` with one
 * attempt, and no business may have had more calls at once than its concurrency: neither in the
 * workers' `active=N/M` lines (the limiter's count) nor in their job events merged in time order.
 * (The database's claimed_at..ended_at cannot tell: a slot is freed while the end is written.)
 */
import pg from 'pg';
import { startPostgresServer } from '../../test/support/postgres-server.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import { assertNothingLeft, startExample } from './child.js';
import { expect } from './expect.js';

const WORKERS = 3;
const LEADS = 12;
const CONCURRENCY = { '7': 3, '8': 2 } as const;

export async function checkMultiProcess(): Promise<void> {
  const redis = await startRedisServer();
  const postgres = await startPostgresServer();
  const env = {
    DATABASE_URL: postgres.connectionString,
    REDIS_URL: redis.url,
    LEASE_MS: '3000',
    SIM_MIN_MS: '200',
    SIM_MAX_MS: '600',
  };
  const workers = startExample(
    'workers',
    'examples/multi-process/workers.ts',
    ['--workers', String(WORKERS)],
    env,
  );
  const starters = [];
  try {
    await workers.waitFor(new RegExp(`(WORKER_READY[^]*){${WORKERS}}`), 60_000);
    for (const [business, concurrency] of Object.entries(CONCURRENCY)) {
      const args = ['--business', business, '--leads', String(LEADS), '--concurrency', String(concurrency)];
      starters.push(startExample(`start-run ${business}`, 'examples/multi-process/start-run.ts', args, env));
    }
    for (const starter of starters) {
      const code = await starter.exited(120_000);
      expect(code === 0, `${starter.name} exits 0`, starter.output().slice(-1500));
      expect(
        new RegExp(`completed: completed=${LEADS}\\n`).test(starter.output()),
        `${starter.name}: all ${LEADS} completed`,
        starter.output().slice(-800),
      );
      await assertNothingLeft(starter);
    }
    checkActiveLines(workers.output());
    checkCallTimeline(workers.output());
    await checkDatabase(postgres.connectionString);

    workers.process.kill('SIGTERM');
    expect((await workers.exited(30_000)) === 0, 'workers.ts stops its workers and exits 0 on SIGTERM');
    expect(
      (workers.output().match(/WORKER_CLOSING/g) ?? []).length === WORKERS,
      'every worker closed cleanly',
    );
    await assertNothingLeft(workers);
  } finally {
    for (const child of [workers, ...starters]) child.killGroup();
    await redis.stop();
    await postgres.stop();
  }
}

/** The limiter's own count, as each worker logged it: `active=N/M` never above M. */
function checkActiveLines(output: string): void {
  const most = new Map<string, number>();
  for (const [, business, active] of output.matchAll(/OUTBOUND_\w+ business_id=(\d+)\b.*? active=(\d+)\//g)) {
    most.set(business!, Math.max(most.get(business!) ?? 0, Number(active)));
  }
  for (const [business, limit] of Object.entries(CONCURRENCY)) {
    const seen = most.get(business);
    expect(
      seen !== undefined && seen <= limit,
      `business ${business}: at most active=${seen}/${limit} in the workers' lines`,
    );
  }
}

/**
 * From outside the library: every worker's `job:dialing` and `job:ended` lines, merged in time
 * order (one machine, one clock), counted per business as the demo counts them in one process.
 */
function checkCallTimeline(output: string): void {
  const edges = [...output.matchAll(/(JOB_DIALING|JOB_ENDED) business_id=(\d+) job_id=\S+ at=(\d+)/g)].map(
    ([, name, business, at]) => ({
      business: business!,
      at: Number(at),
      delta: name === 'JOB_DIALING' ? 1 : -1,
    }),
  );
  // An end in the same millisecond as a start goes first: the slot was freed, then taken.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  expect(edges.length === 4 * LEADS, `the workers logged every call's start and end (${edges.length})`);
  for (const [business, limit] of Object.entries(CONCURRENCY)) {
    let live = 0;
    let most = 0;
    for (const edge of edges.filter((e) => e.business === business)) {
      live += edge.delta;
      most = Math.max(most, live);
    }
    expect(
      most <= limit,
      `business ${business}: most calls at once ${most}/${limit} (job events, all workers)`,
    );
  }
}

/** The record: every job completed, each at its first attempt (nothing dialed twice). */
async function checkDatabase(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; attempt: number }>(
      'SELECT status, attempt FROM oq_jobs',
    );
    expect(rows.length === 2 * LEADS, `the database holds ${2 * LEADS} jobs`, rows.length);
    expect(
      rows.every((r) => r.status === 'completed' && r.attempt === 1),
      'every job completed at its first attempt',
      rows,
    );
  } finally {
    await client.end();
  }
}
