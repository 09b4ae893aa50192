/**
 * "No busy polling" measured from the outside: Redis's own command counters (INFO commandstats)
 * over a few seconds of a started queue that has nothing to do.
 */
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { leads } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { type RedisServerHandle, redisCommand, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

/** The measurement window: long enough for many reconciler ticks at the short lease below. */
const WINDOW_MS = 5_000;
/** A short lease makes the reconciler tick every ~330 ms: any Redis call per tick would show. */
const LEASE_MS = 1_000;

/** Total commands Redis has executed, from INFO commandstats (`cmdstat_<name>:calls=<n>,...`). */
async function commandsExecuted(port: number): Promise<number> {
  const stats = await redisCommand(port, 'INFO', 'commandstats');
  let total = 0;
  for (const match of stats.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) total += Number(match[1]);
  return total;
}

/**
 * Commands per second Redis executes during the window, minus the test's own INFO. Redis counts a
 * command after running it, so the second INFO is not in its own reply and the first one is: one
 * command of ours per window.
 */
async function idleCommandsPerSecond(port: number): Promise<{ perSecond: number; commands: number }> {
  const before = await commandsExecuted(port);
  const start = Date.now();
  // The window is the measurement itself, not a wait for a result.
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const after = await commandsExecuted(port);
  const seconds = (Date.now() - start) / 1000;
  const commands = after - before - 1;
  return { perSecond: commands / seconds, commands };
}

describe.skipIf(!requireServer('redis'))('an idle process on real Redis', () => {
  let server: RedisServerHandle;
  let open: { queue: OutboundQueue; redis: Redis; db: Kysely<unknown> } | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterEach(async () => {
    if (!open) return;
    await open.queue.close();
    open.redis.disconnect();
    await open.db.destroy();
    open = undefined;
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function startedQueue(prefix: string) {
    const redis = new Redis(server.url);
    const limiter = new RedisSlotLimiter({ redis, prefix });
    const db = sqliteDb();
    const dialer = new RecordingDialer({ durationMs: 10 });
    const queue = new OutboundQueue({ store: new KyselyStore({ db }), limiter, dialer, leaseMs: LEASE_MS });
    open = { queue, redis, db };
    await queue.migrate();
    await queue.start();
    await limiter.whenSubscribed();
    return { queue, dialer };
  }

  it('the measurement sees a process that does poll Redis', async () => {
    // The method must be able to fail: one PING every 200 ms reads as about 5 commands a second.
    const redis = new Redis(server.url);
    await redis.ping();
    const timer = setInterval(() => void redis.ping(), 200);
    try {
      const { perSecond } = await idleCommandsPerSecond(server.port);
      expect(perSecond).toBeGreaterThan(3);
    } finally {
      clearInterval(timer);
      redis.disconnect();
    }
  });

  it('makes at most 1 Redis command per second when started with no runs', async () => {
    await startedQueue('idle-empty');
    const { perSecond, commands } = await idleCommandsPerSecond(server.port);
    console.log(`idle, no runs: ${commands} Redis commands in ${WINDOW_MS} ms (${perSecond.toFixed(2)}/s)`);
    expect(perSecond).toBeLessThanOrEqual(1);
  });

  it('goes back to at most 1 Redis command per second once its runs are finished', async () => {
    const { queue, dialer } = await startedQueue('idle-after-run');
    const run = await queue.startRun({ businessId: 'idle-b', concurrency: 2, leads: leads(6) });
    const done = await queue.waitForRun(run.runId, { timeoutMs: 20_000 });
    expect(done.counts.completed).toBe(6);
    expect(dialer.calls).toHaveLength(6);
    const { perSecond, commands } = await idleCommandsPerSecond(server.port);
    console.log(
      `idle after a run: ${commands} Redis commands in ${WINDOW_MS} ms (${perSecond.toFixed(2)}/s)`,
    );
    expect(perSecond).toBeLessThanOrEqual(1);
  });
});
