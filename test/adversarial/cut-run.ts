import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { Job, RunSummary } from '../../src/types.js';
import { postgresDb } from '../support/postgres.js';
import type { PostgresServerHandle } from '../support/postgres-server.js';
import { eventually, leads } from '../support/queue-fixture.js';
import { MemoryLogger } from '../support/recording-dialer.js';
import type { RedisServerHandle } from '../support/redis-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { attemptsDialedTwice, mostLiveAtOnce } from './call-checks.js';
import { seededRandom, TimedDialer } from './timed-dialer.js';

/** Businesses of a cut run, each with {@link LEADS} leads at {@link CONCURRENCY}. */
export const BUSINESSES = ['cut-a', 'cut-b', 'cut-c'];
/** Leads per business. */
export const LEADS = 15;
/** Each business's concurrency limit. */
export const CONCURRENCY = 3;
/** Slot and run leases: the cut lasts five of them. */
export const LEASE_MS = 2_000;
/** How long the backend is unreachable. */
export const CUT_MS = 10_000;
/** How long after the backend is back every run must be complete. */
export const FINISH_WITHIN_MS = 15_000;

/** What a run through a cut did, as measured from outside. */
export interface CutRunResult {
  seed: number;
  dialer: TimedDialer;
  logger: MemoryLogger;
  runs: RunSummary[];
  jobs: Job[];
  /** `performance.now()` when the cut began and ended. */
  cutFrom: number;
  cutTo: number;
  /** Time from the end of the cut until the last run was complete. */
  finishedAfterCutMs: number;
  /** Calls ended at the provider while the backend was unreachable. */
  endedDuringCut: number;
  /** `error` events the queue emitted. */
  errors: Error[];
}

/**
 * A busy run of {@link BUSINESSES} on real PostgreSQL and Redis, with one of them behind a TCP
 * proxy cut for {@link CUT_MS} once a dozen calls were placed. Calls last 50 to 300 ms (drawn
 * from a printed seed, `OQ_SEED` replays it), except the first of each business, which stays
 * live through the whole cut and ends a second after it: its slot must survive the cut. Ends
 * are reported in-process, so the ones that fall inside the cut exist only in this process.
 * @param cut - which backend goes away
 * @returns the measurements, once every run is complete (or the deadline passed)
 */
export async function runThroughCut(
  cut: 'database' | 'redis',
  servers: { pg: PostgresServerHandle; redis: RedisServerHandle },
  name: string,
): Promise<CutRunResult> {
  const seed = Number(process.env.OQ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`${name}: seed ${seed} (OQ_SEED=${seed} replays the call lengths)`);
  const random = seededRandom(seed);
  const url = new URL(await servers.pg.createDatabase(name));
  const proxy = await startTcpProxy(cut === 'database' ? Number(url.port) : servers.redis.port);
  if (cut === 'database') url.port = String(proxy.port);
  // biome-ignore lint/suspicious/noExplicitAny: the store's tables, read back by the test
  const db: Kysely<any> = postgresDb(url.toString(), 4);
  const redis = new Redis({
    host: '127.0.0.1',
    port: cut === 'redis' ? proxy.port : servers.redis.port,
    maxRetriesPerRequest: 2,
  });
  redis.on('error', () => {});
  const firstOfBusiness = new Set(BUSINESSES.map((_, b) => b * LEADS));
  const dialer = new TimedDialer((req) =>
    firstOfBusiness.has(Number(req.metadata?.n)) ? 'held' : 50 + Math.floor(random() * 250),
  );
  const logger = new MemoryLogger();
  const errors: Error[] = [];
  const queue = new OutboundQueue({
    store: new KyselyStore({ db }),
    limiter: new RedisSlotLimiter({ redis, prefix: name }),
    dialer,
    logger,
    leaseMs: LEASE_MS,
  });
  queue.on('error', (err) => errors.push(err));
  try {
    await queue.migrate();
    await queue.start();
    const started = [];
    for (const [b, businessId] of BUSINESSES.entries()) {
      started.push(
        await queue.startRun({ businessId, concurrency: CONCURRENCY, leads: leads(LEADS, b * LEADS) }),
      );
    }
    await eventually(() => dialer.calls.length >= 12, 15_000);
    const cutFrom = performance.now();
    await proxy.cut(CUT_MS);
    const cutTo = performance.now();
    // The long calls end a second after the backend is back (a scenario step, not a wait for a result).
    const heldEnd = new Promise<void>((resolve) =>
      setTimeout(() => {
        dialer.endHeld();
        resolve();
      }, 1_000),
    );
    const runs = await Promise.all(
      started.map((r) => queue.waitForRun(r.runId, { timeoutMs: FINISH_WITHIN_MS + 30_000 })),
    );
    const finishedAfterCutMs = performance.now() - cutTo;
    await heldEnd;
    await dialer.settled();
    const jobs: Job[] = [];
    for (const r of started) jobs.push(...(await queue.listJobs(r.runId, { limit: 1000 })));
    const endedDuringCut = dialer.calls.filter(
      (c) => c.endedAt !== undefined && c.endedAt >= cutFrom && c.endedAt <= cutTo,
    ).length;
    return { seed, dialer, logger, runs, jobs, cutFrom, cutTo, finishedAfterCutMs, endedDuringCut, errors };
  } finally {
    await queue.close().catch(() => {});
    redis.disconnect();
    await db.destroy().catch(() => {});
    await proxy.close();
  }
}

/**
 * The guarantees every cut run must keep: every job terminal, each dialed at most once per
 * attempt and, when dialed, completed (its end report kept through the cut); a job never dialed
 * ended only as a claim whose outcome the cut made unknown; no business over its limit at any
 * instant; the runs complete within {@link FINISH_WITHIN_MS} of the cut's end.
 */
export function expectCutGuarantees(result: CutRunResult): void {
  const { dialer, jobs, runs } = result;
  const summary = {
    seed: result.seed,
    dials: dialer.calls.length,
    endedDuringCut: result.endedDuringCut,
    finishedAfterCutMs: Math.round(result.finishedAfterCutMs),
    statuses: countStatuses(jobs),
    warnings: countMessages(result.logger),
    errors: result.errors.map((e) => e.message).slice(0, 5),
  };
  console.log(JSON.stringify(summary));
  expect(runs.map((r) => r.status)).toEqual(BUSINESSES.map(() => 'completed'));
  expect(jobs).toHaveLength(BUSINESSES.length * LEADS);
  // The scenario happened: calls ended while the backend was away, and the held ones spanned it.
  expect(result.endedDuringCut).toBeGreaterThanOrEqual(3);
  const held = dialer.calls.filter((c) => c.startedAt < result.cutFrom && c.endedAt! > result.cutTo);
  expect(held.length).toBeGreaterThanOrEqual(BUSINESSES.length);
  expect(dialer.lostReports).toEqual([]);
  expect(attemptsDialedTwice(dialer.calls)).toEqual(new Map());
  const dials = dialer.dialsPerJob();
  for (const job of jobs) {
    if (dials.has(job.jobId)) {
      expect({ jobId: job.jobId, status: job.status, dials: dials.get(job.jobId) }).toEqual({
        jobId: job.jobId,
        status: 'completed',
        dials: 1,
      });
    } else {
      expect({ jobId: job.jobId, status: job.status, errorCode: job.errorCode }).toEqual({
        jobId: job.jobId,
        status: 'failed',
        errorCode: 'DIAL_OUTCOME_UNKNOWN',
      });
    }
  }
  const unknown = jobs.filter((j) => !dials.has(j.jobId)).length;
  expect(unknown, 'claims cut off undialed').toBeLessThanOrEqual(BUSINESSES.length * CONCURRENCY);
  for (const businessId of BUSINESSES)
    expect(mostLiveAtOnce(dialer.calls, businessId), `most live calls of ${businessId}`).toBeLessThanOrEqual(
      CONCURRENCY,
    );
  expect(result.finishedAfterCutMs).toBeLessThan(FINISH_WITHIN_MS);
}

function countStatuses(jobs: readonly Job[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const job of jobs) {
    const key = job.errorCode ? `${job.status}:${job.errorCode}` : job.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function countMessages(logger: MemoryLogger): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of logger.lines) {
    if (line.level !== 'warn' && line.level !== 'error') continue;
    counts[`${line.level}:${line.msg}`] = (counts[`${line.level}:${line.msg}`] ?? 0) + 1;
  }
  return counts;
}
