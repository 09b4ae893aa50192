import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { DialRequest } from '../../src/dialer/dialer.js';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import type { SlotLimiter } from '../../src/limiter/slot-limiter.js';
import type { RunSummary } from '../../src/types.js';
import { postgresDb } from '../support/postgres.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { useRealServers } from '../support/real-servers.js';
import { requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

const BUSINESSES = 6;
const LEADS = 40;
const CONCURRENCY = 3;

/** What a host counts from outside while the runs are busy. */
interface Observed {
  /** Most calls live at once in one business: `job:dialing` minus `job:ended`. */
  byEvents: number;
  /** Most `getRun().active` read for one run. */
  byReads: number;
  reads: number;
}

/**
 * Live calls as a host counts them: `job:dialing` minus `job:ended` per business (what the demo's
 * bar and a host's metrics do), and `getRun().active` read while the run is busy. Neither may ever
 * read more than the limit, however the engine batches its writes. Short calls ended by the dialer
 * itself: every hand-off comes from an in-process end report.
 */
async function neverOverTheLimit(db: Kysely<unknown>, limiter: SlotLimiter, retried = false): Promise<void> {
  // With `retried`, every lead's first call is busy and its run calls it again (dialing policy):
  // each hand-off then also puts a job back in line, and the limit holds all the same.
  const outcome = retried ? (req: DialRequest) => (req.attempt === 1 ? 'busy' : 'completed') : undefined;
  const fx = await startQueue(new SimulatedDialer({ durationMs: [0, 4], outcome }), { db, limiter });
  try {
    await busyRuns(fx, retried);
  } finally {
    await fx.close();
  }
}

/** Runs the busy workload on a started queue and checks what was counted from outside. */
async function busyRuns(fx: QueueFixture, retried: boolean): Promise<void> {
  const live = new Map<string, number>();
  const observed: Observed = { byEvents: 0, byReads: 0, reads: 0 };
  let dialings = 0;
  fx.queue.on('job:dialing', (e) => {
    dialings += 1;
    const n = (live.get(e.businessId) ?? 0) + 1;
    live.set(e.businessId, n);
    observed.byEvents = Math.max(observed.byEvents, n);
  });
  fx.queue.on('job:ended', (e) => live.set(e.businessId, (live.get(e.businessId) ?? 0) - 1));

  const runs = await Promise.all(
    Array.from({ length: BUSINESSES }, (_, b) =>
      fx.queue.startRun({
        businessId: `b${b}`,
        concurrency: CONCURRENCY,
        leads: leads(LEADS, b * LEADS),
        retry: retried ? { busy: { maxAttempts: 2, delayMs: 0 } } : undefined,
      }),
    ),
  );
  let finished = false;
  const readLoop = (async () => {
    while (!finished) {
      const summaries: RunSummary[] = await Promise.all(runs.map((r) => fx.queue.getRun(r.runId)));
      observed.reads += summaries.length;
      for (const s of summaries) observed.byReads = Math.max(observed.byReads, s.active);
      if (summaries.every((s) => s.status === 'completed')) finished = true;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const done = await Promise.all(runs.map((r) => fx.queue.waitForRun(r.runId, { timeoutMs: 60_000 })));
  finished = true;
  await readLoop;

  expect(done.map((s) => s.counts.completed)).toEqual(runs.map(() => LEADS));
  expect(dialings).toBe(BUSINESSES * LEADS * (retried ? 2 : 1));
  expect([...live.values()]).toEqual(runs.map(() => 0));
  expect(observed.reads).toBeGreaterThan(BUSINESSES * 10);
  expect(observed.byEvents).toBeLessThanOrEqual(CONCURRENCY);
  expect(observed.byReads).toBeLessThanOrEqual(CONCURRENCY);
}

describe('live calls counted from the events and from getRun', () => {
  it('never exceed the limit in a busy multi-business run (SQLite, memory limiter)', async () => {
    const db = sqliteDb();
    try {
      await neverOverTheLimit(db, new MemorySlotLimiter());
    } finally {
      await db.destroy();
    }
  });

  it('never exceed the limit while every first call is busy and retried (SQLite, memory limiter)', async () => {
    const db = sqliteDb();
    try {
      await neverOverTheLimit(db, new MemorySlotLimiter(), true);
    } finally {
      await db.destroy();
    }
  });

  const available = requireServer('redis') && requireServer('postgres');
  describe.skipIf(!available)('on PostgreSQL and Redis', () => {
    const servers = useRealServers();

    it('never exceed the limit in a busy multi-business run (PostgreSQL, Redis limiter)', async () => {
      // Several connections: the writes of one batch and the reads run at once.
      const db = postgresDb(await servers.postgres.createDatabase('live_count'), 8);
      const redis = new Redis(servers.redis.url);
      try {
        await neverOverTheLimit(db, new RedisSlotLimiter({ redis }));
      } finally {
        redis.disconnect();
        await db.destroy();
      }
    });

    it('never exceed the limit while every first call is busy and retried (PostgreSQL, Redis limiter)', async () => {
      const db = postgresDb(await servers.postgres.createDatabase('live_count_retried'), 8);
      const redis = new Redis(servers.redis.url);
      try {
        await neverOverTheLimit(db, new RedisSlotLimiter({ redis }), true);
      } finally {
        redis.disconnect();
        await db.destroy();
      }
    });
  });
});
