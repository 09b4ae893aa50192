import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { postgresDb } from '../support/postgres.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { eventually, leads } from '../support/queue-fixture.js';
import { MemoryLogger, RecordingDialer } from '../support/recording-dialer.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const available = requireServer('redis') && requireServer('postgres');

/**
 * Guarantee 8: when the database or Redis is unreachable, dispatch pauses and resumes on its
 * own; nothing is lost, the limit holds and no lead is dialed twice.
 */
describe.skipIf(!available)('outages of the database and of Redis', () => {
  let redisServer: RedisServerHandle;
  let pgServer: PostgresServerHandle;
  let n = 0;

  beforeAll(async () => {
    [redisServer, pgServer] = await Promise.all([startRedisServer(), startPostgresServer()]);
  });
  afterAll(async () => {
    await redisServer?.stop();
    await pgServer?.stop();
  });

  async function runThrough(cut: 'database' | 'redis') {
    n += 1;
    const url = new URL(await pgServer.createDatabase(`outage_${n}`));
    const pgProxy = await startTcpProxy(Number(url.port));
    const redisProxy = await startTcpProxy(redisServer.port);
    url.port = String(pgProxy.port);
    const db: Kysely<unknown> = postgresDb(url.toString(), 4);
    const redis = new Redis({ port: redisProxy.port, host: '127.0.0.1', maxRetriesPerRequest: 2 });
    redis.on('error', () => {});
    const logger = new MemoryLogger();
    const dialer = new RecordingDialer({ durationMs: 30 });
    const limiter = new RedisSlotLimiter({ redis, prefix: `outage${n}` });
    const queue = new OutboundQueue({
      store: new KyselyStore({ db }),
      limiter,
      dialer,
      logger,
      leaseMs: 1000,
    });
    try {
      await queue.migrate();
      await queue.start();
      const run = await queue.startRun({ businessId: 'o', concurrency: 3, leads: leads(40) });
      await eventually(() => dialer.calls.length >= 8, 10_000);
      const proxy: TcpProxy = cut === 'database' ? pgProxy : redisProxy;
      await proxy.cut(1500);
      const done = await queue.waitForRun(run.runId, { timeoutMs: 60_000 });
      const terminal = done.counts.completed + done.counts.failed;
      expect(terminal).toBe(40);
      // A claim whose commit was cut off before its answer arrived is never dialed blind: it ends
      // failed (DIAL_OUTCOME_UNKNOWN). Every other lead is called exactly once.
      const failed = await queue.listJobs(run.runId, { status: 'failed', limit: 1000 });
      expect(
        failed.every((j) => j.errorCode === 'DIAL_OUTCOME_UNKNOWN' && !dialer.dialsPerJob().has(j.jobId)),
      ).toBe(true);
      expect(done.counts.completed).toBe(dialer.calls.length);
      expect([...dialer.dialsPerJob().values()].every((count) => count === 1)).toBe(true);
      expect(dialer.maxConcurrent('o')).toBeLessThanOrEqual(3);
      return logger;
    } finally {
      await queue.close().catch(() => {});
      redis.disconnect();
      await db.destroy();
      await pgProxy.close();
      await redisProxy.close();
    }
  }

  it('the database goes away for 1.5 s mid-run', async () => {
    const logger = await runThrough('database');
    expect(
      logger.named('OUTBOUND_BACKEND_UNAVAILABLE').length + logger.named('OUTBOUND_DISPATCH_FAILED').length,
    ).toBeGreaterThan(0);
  });

  it('Redis goes away for 1.5 s mid-run', async () => {
    await runThrough('redis');
  });
});
