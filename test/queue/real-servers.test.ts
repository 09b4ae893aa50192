import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import type { ReleaseResult } from '../../src/limiter/slot-limiter.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { CallEvent } from '../../src/types.js';
import { aroundClaims } from '../support/claim-hooks.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { eventually, leads } from '../support/queue-fixture.js';
import { MemoryLogger, RecordingDialer } from '../support/recording-dialer.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';

const available = requireServer('redis') && requireServer('postgres');

/**
 * The engine on the production stack: real Redis, real PostgreSQL, and two queue instances with
 * their own connections standing in for two processes.
 */
describe.skipIf(!available)('OutboundQueue on real Redis and PostgreSQL', () => {
  let redisServer: RedisServerHandle;
  let pgServer: PostgresServerHandle;
  let url: string;
  let dbNumber = 0;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    [redisServer, pgServer] = await Promise.all([startRedisServer(), startPostgresServer()]);
  });
  afterAll(async () => {
    await redisServer?.stop();
    await pgServer?.stop();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function node(
    dialer: RecordingDialer,
    options: {
      leaseMs?: number;
      start?: boolean;
      store?: (db: Kysely<unknown>) => KyselyStore;
      /** Sees (and may wrap) the node's limiter before the queue uses it. */
      limiter?: (limiter: RedisSlotLimiter) => void;
    } = {},
  ) {
    const db: Kysely<unknown> = postgresDb(url, 4);
    const redis = new Redis(redisServer.url);
    const logger = new MemoryLogger();
    const limiter = new RedisSlotLimiter({ redis, prefix: `t${dbNumber}` });
    options.limiter?.(limiter);
    const queue = new OutboundQueue({
      store: options.store?.(db) ?? new KyselyStore({ db }),
      limiter,
      dialer,
      logger,
      leaseMs: options.leaseMs,
    });
    await queue.migrate();
    if (options.start !== false) await queue.start();
    cleanups.push(async () => {
      await queue.close();
      redis.disconnect();
      await db.destroy();
    });
    return { queue, logger, db };
  }

  async function freshDatabase() {
    dbNumber += 1;
    url = await pgServer.createDatabase(`engine_${dbNumber}`);
  }

  it('runs the seed scenario: 7 leads, concurrency 3, hand-offs through Redis', async () => {
    await freshDatabase();
    const dialer = new RecordingDialer({ durationMs: 30 });
    const { queue, logger } = await node(dialer);
    const run = await queue.startRun({ businessId: '4', concurrency: 3, leads: leads(7) });
    const done = await queue.waitForRun(run.runId, { timeoutMs: 15_000 });
    expect(done.counts.completed).toBe(7);
    expect(dialer.maxConcurrent('4')).toBeLessThanOrEqual(3);
    // Each call starts either straight from a free slot or by a hand-off; which one depends on timing.
    expect(logger.named('OUTBOUND_ENQUEUE').length + logger.named('OUTBOUND_NEXT').length).toBe(7);
    expect(logger.named('OUTBOUND_NEXT').length).toBeGreaterThanOrEqual(1);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('two processes share the limit of a business, and a run started by a non-dispatching process is adopted', async () => {
    await freshDatabase();
    const dialer = new RecordingDialer({ durationMs: 15 });
    const a = await node(dialer, { leaseMs: 600 });
    const b = await node(dialer, { leaseMs: 600 });
    const client = await node(dialer, { leaseMs: 600, start: false });
    const runs = await Promise.all([
      a.queue.startRun({ businessId: 'shared', concurrency: 3, leads: leads(20) }),
      b.queue.startRun({ businessId: 'shared', concurrency: 3, leads: leads(20, 100) }),
      client.queue.startRun({ businessId: 'adopted', concurrency: 2, leads: leads(10, 200) }),
    ]);
    for (const run of runs)
      expect((await a.queue.waitForRun(run.runId, { timeoutMs: 20_000 })).counts.completed).toBe(run.total);
    expect(dialer.maxConcurrent('shared')).toBeLessThanOrEqual(3);
    expect(dialer.maxConcurrent('adopted')).toBeLessThanOrEqual(2);
    expect([...dialer.dialsPerJob().values()].every((n) => n === 1)).toBe(true);
  });

  it('duplicated and reordered events delivered to different processes release each slot once', async () => {
    await freshDatabase();
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const a = await node(dialer);
    const b = await node(dialer);
    const released = new Map<string, number>();
    for (const n of [a, b])
      n.queue.on('slot:released', (e) => released.set(e.jobId, (released.get(e.jobId) ?? 0) + 1));
    const run = await a.queue.startRun({ businessId: 'dup', concurrency: 2, leads: leads(8) });
    let ended = 0;
    while (ended < 8) {
      await eventually(() => dialer.liveCalls().length > 0, 10_000);
      const calls = [...dialer.liveCalls()];
      const events: { to: OutboundQueue; event: CallEvent }[] = [];
      for (const call of calls) {
        dialer.hangUp(call.callId);
        for (const status of ['ringing', 'completed', 'in-progress', 'completed', 'completed'] as const) {
          const event = { jobId: call.jobId, lockToken: call.lockToken, callId: call.callId, status };
          events.push({ to: a.queue, event }, { to: b.queue, event });
        }
      }
      events.sort(() => Math.random() - 0.5);
      await Promise.all(events.map(({ to, event }) => to.handleCallEvent(event)));
      ended += calls.length;
    }
    const done = await a.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
    expect(done.counts.completed).toBe(8);
    expect(released.size).toBe(8);
    expect([...released.values()].every((n) => n === 1)).toBe(true);
    expect(dialer.maxConcurrent('dup')).toBeLessThanOrEqual(2);
  });

  it('keeps the limit and finishes the run when Redis restarts empty mid-run', async () => {
    await freshDatabase();
    const dialer = new RecordingDialer({ durationMs: 40 });
    const { queue } = await node(dialer, { leaseMs: 900 });
    const run = await queue.startRun({ businessId: 'restart', concurrency: 3, leads: leads(30) });
    await eventually(() => dialer.calls.length >= 6, 10_000);
    await redisServer.restart({ empty: true });
    const done = await queue.waitForRun(run.runId, { timeoutMs: 30_000 });
    expect(done.counts.completed).toBe(30);
    expect(dialer.maxConcurrent('restart')).toBeLessThanOrEqual(3);
    expect([...dialer.dialsPerJob().values()].every((n) => n === 1)).toBe(true);
  });

  it('never dials a grant made before Redis lost its state: the claim presents a stale fence', async () => {
    await freshDatabase();
    const dialer = new RecordingDialer({ durationMs: 20 });
    const intruder = new Redis(redisServer.url);
    cleanups.push(async () => intruder.disconnect());
    const claims: Array<{ jobId: string; claimed: boolean }> = [];
    let lostState = false;
    let granted: string | undefined;
    const { queue } = await node(dialer, {
      leaseMs: 900,
      store: (db) =>
        aroundClaims(new KyselyStore({ db }), async (jobId, claim) => {
          if (!lostState) {
            // Between the grant and its claim: Redis restarts empty, and another process asks for
            // the business's only slot, rebuilt from the database (where this job is not claimed).
            // (The feeder, offering the next lead meanwhile, may rebuild it first and get it.)
            lostState = true;
            granted = jobId;
            await intruder.flushall();
            const other = new RedisSlotLimiter({ redis: intruder, prefix: `t${dbNumber}` });
            other.setHolderSource((key) => new KyselyStore({ db }).fenceSlots(key));
            await other.acquire(
              'fenced',
              'other-process-job',
              { business: 'fenced', run: 'intruder', runLimit: 1 },
              900,
            );
          }
          const claimed = await claim();
          claims.push({ jobId, claimed: claimed !== undefined });
          return claimed;
        }),
    });
    const run = await queue.startRun({ businessId: 'fenced', concurrency: 1, leads: leads(3) });
    const done = await queue.waitForRun(run.runId, { timeoutMs: 20_000 });
    expect(done.counts.completed).toBe(3);
    // The claim that came with the grant from before the loss was refused; the job was dialed later.
    expect(claims.filter((c) => c.jobId === granted).map((c) => c.claimed)).toEqual([false, true]);
    expect([...dialer.dialsPerJob().values()]).toEqual([1, 1, 1]);
    expect(dialer.maxConcurrent('fenced')).toBe(1);
  });

  it('a grant given back after its claim was refused cannot free the slot its job got again', async () => {
    await freshDatabase();
    const dialer = new RecordingDialer({ durationMs: 20 });
    const intruder = new Redis(redisServer.url);
    cleanups.push(async () => intruder.disconnect());
    const other = new RedisSlotLimiter({ redis: intruder, prefix: `t${dbNumber}` });
    let refused: string | undefined;
    // The refused claim's grant is given back with its fence: a promise the give-back settles.
    let gaveBack: (result: ReleaseResult) => void = () => {};
    const givenBack = new Promise<ReleaseResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the refused grant was not given back')), 30_000);
      gaveBack = (result) => {
        clearTimeout(timer);
        resolve(result);
      };
    });
    const { queue } = await node(dialer, {
      leaseMs: 900,
      limiter: (limiter) => {
        const release = limiter.release.bind(limiter);
        limiter.release = async (key, jobId, leaseMs, fence) => {
          const result = await release(key, jobId, leaseMs, fence);
          if (jobId === refused && fence !== undefined) gaveBack(result);
          return result;
        };
      },
      store: (db) =>
        aroundClaims(new KyselyStore({ db }), async (jobId, claim) => {
          if (refused === undefined) {
            // Between the grant and its claim the business's limiter state is rebuilt (Redis lost
            // it), and the rebuilt state holds the job again (acquired anew, as its feeder in
            // another process would; one atomic step here, so this process's feeder cannot race).
            const raised = await new KyselyStore({ db }).fenceSlots('regrant');
            const route = await new KyselyStore({ db }).getJobRoute(jobId);
            const holder = { jobId, business: 'regrant', run: route?.runId ?? '' };
            await other.rebuild('regrant', { ...raised, holders: [holder] }, 900);
            const claimed = await claim();
            expect(claimed).toBeUndefined();
            refused = jobId;
            return claimed;
          }
          return claim();
        }),
    });
    const run = await queue.startRun({ businessId: 'regrant', concurrency: 1, leads: leads(1) });
    // The refused claim's slot is given back (awaited, not slept on) and freed nothing: the slot of
    // the new grant is still held.
    expect((await givenBack).released).toBe(false);
    expect(await other.renew('regrant', [refused!], 900)).toEqual([]);
    const done = await queue.waitForRun(run.runId, { timeoutMs: 20_000 });
    expect(done.counts.completed).toBe(1);
    expect([...dialer.dialsPerJob().values()]).toEqual([1]);
  });
});
