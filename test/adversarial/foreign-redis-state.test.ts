/**
 * One Redis used with two databases (the demo run with `--redis`, then with `--db` on another
 * database; or a database restored from a backup): the limiter's state in Redis carries a fence
 * the database never issued. Every grant of that state fails its claim; the engine must notice,
 * replace the state from its own database, report it once, and dispatch.
 */
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { leads } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

const PREFIX = 'foreign';

/**
 * Counts log lines by message and keeps only the first few of each: the broken engine logs
 * OUTBOUND_* lines in a tight loop, millions of them.
 */
class CountingLogger implements Logger {
  readonly counts = new Map<string, number>();
  readonly kept: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  debug = (obj: Record<string, unknown>, msg: string) => this.add('debug', obj, msg);
  info = (obj: Record<string, unknown>, msg: string) => this.add('info', obj, msg);
  warn = (obj: Record<string, unknown>, msg: string) => this.add('warn', obj, msg);
  error = (obj: Record<string, unknown>, msg: string) => this.add('error', obj, msg);

  count(msg: string): number {
    return this.counts.get(msg) ?? 0;
  }

  get outboundLines(): number {
    let n = 0;
    for (const [msg, count] of this.counts) if (msg.startsWith('OUTBOUND_')) n += count;
    return n;
  }

  private add(level: string, obj: Record<string, unknown>, msg: string): void {
    const count = this.count(msg) + 1;
    this.counts.set(msg, count);
    if (count <= 20) this.kept.push({ level, msg, obj });
  }
}

describe.skipIf(!requireServer('redis'))('Redis state made with another database', () => {
  let server: RedisServerHandle;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  });
  afterAll(async () => {
    await server?.stop();
  });

  function node(db: Kysely<unknown>, dialer: RecordingDialer) {
    const redis = new Redis(server.url);
    redis.on('error', () => {});
    const logger = new CountingLogger();
    const store = new KyselyStore({ db });
    const limiter = new RedisSlotLimiter({ redis, prefix: PREFIX });
    const queue = new OutboundQueue({ store, limiter, dialer, logger, leaseMs: 2_000 });
    const errors: Error[] = [];
    queue.on('error', (err) => errors.push(err));
    closers.push(async () => {
      await queue.close();
      redis.disconnect();
    });
    return { queue, logger, store, errors };
  }

  it('is replaced from the database under a fence above Redis’s, reported once, and the run completes', async () => {
    const dbA = sqliteDb();
    const dbB = sqliteDb();
    closers.push(async () => {
      await dbA.destroy();
      await dbB.destroy();
    });
    const dialer = new RecordingDialer({ durationMs: 10 });

    // Database A, on this Redis: its fence for the business is 3 (two earlier rebuilds), and so
    // is Redis's after A's first run.
    const a = node(dbA, dialer);
    await a.queue.migrate();
    await a.store.fenceSlots('4');
    await a.store.fenceSlots('4');
    await a.queue.start();
    const first = await a.queue.startRun({ businessId: '4', concurrency: 2, leads: leads(3) });
    expect((await a.queue.waitForRun(first.runId, { timeoutMs: 20_000 })).counts.completed).toBe(3);
    await a.queue.close();

    // Database B has a fence of its own for the business, behind A's: 1.
    const b = node(dbB, dialer);
    await b.queue.migrate();
    expect((await b.store.fenceSlots('4')).fence).toBe(1);
    await b.queue.start();
    const run = await b.queue.startRun({ businessId: '4', concurrency: 2, leads: leads(5, 100) });
    const done = await b.queue.waitForRun(run.runId, { timeoutMs: 20_000 }).catch((err: unknown) => err);
    const lines = b.logger.outboundLines;
    console.log(
      `run on database B: ${done instanceof Error ? done.message : 'completed'}; ${lines} OUTBOUND_* lines, ` +
        `${b.logger.count('OUTBOUND_ENQUEUE') + b.logger.count('OUTBOUND_NEXT')} grants`,
    );
    expect(done).not.toBeInstanceOf(Error);
    expect((done as { counts: { completed: number } }).counts.completed).toBe(5);

    // Bounded: each job granted at most twice (once by the foreign state, once after).
    expect(b.logger.count('OUTBOUND_ENQUEUE') + b.logger.count('OUTBOUND_NEXT')).toBeLessThanOrEqual(5 + 2);
    expect(lines).toBeLessThan(100);
    expect(dialer.maxConcurrent('4')).toBeLessThanOrEqual(2);
    expect([...dialer.dialsPerJob().values()].every((n) => n === 1)).toBe(true);

    // Reported once, at error level, with both fences, and as an 'error' event.
    const reports = b.logger.kept.filter((l) => l.msg === 'OUTBOUND_LIMITER_FOREIGN_STATE');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      level: 'error',
      obj: { business_id: '4', limiter_fence: 3, database_fence: 1 },
    });
    expect(b.errors).toHaveLength(1);
    expect(b.errors[0]?.message).toMatch(/another database/);
    // B's fence now exceeds what Redis had: no grant of the foreign state can ever be claimed.
    expect(await b.store.slotFence('4')).toBeGreaterThan(3);
  });

  /** Two processes on one Redis, each with a database of its own (migrated), one dialer. */
  async function twoDatabases(callMs: number) {
    const dbs = [sqliteDb(), sqliteDb()];
    closers.push(async () => {
      for (const db of dbs) await db.destroy();
    });
    const dialer = new RecordingDialer({ durationMs: callMs });
    const nodes = dbs.map((db) => node(db, dialer));
    await Promise.all(nodes.map((n) => n.queue.migrate()));
    return nodes as [ReturnType<typeof node>, ReturnType<typeof node>];
  }

  it('is replaced a lease later when its fence is below the database’s (made by a database that fenced less)', async () => {
    const [low, high] = await twoDatabases(20);
    await high.store.fenceSlots('behind');
    await high.store.fenceSlots('behind');
    // The state in Redis is made with the database whose fence is lower (1, against 2).
    await low.queue.start();
    const first = await low.queue.startRun({ businessId: 'behind', concurrency: 1, leads: leads(1) });
    await low.queue.waitForRun(first.runId, { timeoutMs: 10_000 });
    await low.queue.close();

    // Every grant of it carries fence 1, which the other database left behind: refused as stale,
    // until the same stale fence has come back for a lease.
    await high.queue.start();
    const run = await high.queue.startRun({ businessId: 'behind', concurrency: 2, leads: leads(4, 10) });
    const done = await high.queue.waitForRun(run.runId, { timeoutMs: 20_000 });
    expect(done.counts.completed).toBe(4);
    expect(high.logger.count('OUTBOUND_LIMITER_FOREIGN_STATE')).toBe(1);
    expect(high.errors[0]?.message).toMatch(/still behind/);
  });

  it('two databases live on one Redis at once: both runs complete, reported with back-off, never spinning', async () => {
    const [a, b] = await twoDatabases(100);
    // Fences that differ (equal ones would let both databases share one state unnoticed).
    await a.store.fenceSlots('both');
    await a.store.fenceSlots('both');
    await Promise.all([a.queue.start(), b.queue.start()]);
    const [runA, runB] = await Promise.all([
      a.queue.startRun({ businessId: 'both', concurrency: 2, leads: leads(6) }),
      b.queue.startRun({ businessId: 'both', concurrency: 2, leads: leads(6, 100) }),
    ]);
    const [doneA, doneB] = await Promise.all([
      a.queue.waitForRun(runA.runId, { timeoutMs: 45_000 }),
      b.queue.waitForRun(runB.runId, { timeoutMs: 45_000 }),
    ]);
    expect(doneA.counts.completed).toBe(6);
    expect(doneB.counts.completed).toBe(6);
    const reports =
      a.logger.count('OUTBOUND_LIMITER_FOREIGN_STATE') + b.logger.count('OUTBOUND_LIMITER_FOREIGN_STATE');
    const lines = a.logger.outboundLines + b.logger.outboundLines;
    console.log(`two live databases: ${reports} foreign-state reports, ${lines} OUTBOUND_* lines`);
    expect(reports).toBeGreaterThanOrEqual(1);
    expect(reports).toBeLessThan(50);
    expect(lines).toBeLessThan(1_000);
    expect(a.errors.length + b.errors.length).toBe(reports);
  });
});
