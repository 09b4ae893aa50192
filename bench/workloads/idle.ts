import { Redis } from 'ioredis';
import { OutboundQueue, SimulatedDialer } from '../../src/index.js';
import { KyselyStore } from '../../src/kysely.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { sqliteFileDb } from '../env/databases.js';
import type { RedisProbe } from '../measure/redis-stats.js';
import { SqlCounter } from '../measure/sql-counter.js';

/** An idle process's Redis traffic. */
export interface IdleMeasurement {
  commandsPerSecond: number;
  commands: number;
  seconds: number;
  /** Database statements per second over the same window (the reconciler's lease renewals). */
  sqlPerSecond: number;
}

/**
 * Starts an `OutboundQueue` (Redis limiter, SQLite store, default lease) with no runs and counts
 * the commands Redis executes over `windowMs` (INFO commandstats, the bench's own INFO excluded).
 * @param probe - the bench's Redis connection
 * @param url - the Redis server's URL
 * @param windowMs - the measurement window
 * @returns commands per second
 */
export async function measureIdle(
  probe: RedisProbe,
  url: string,
  windowMs: number,
): Promise<IdleMeasurement> {
  await probe.flush();
  const sql = new SqlCounter();
  const bench = sqliteFileDb(sql);
  const redis = new Redis(url);
  const limiter = new RedisSlotLimiter({ redis, prefix: 'idle' });
  const queue = new OutboundQueue({
    store: new KyselyStore({ db: bench.db }),
    limiter,
    dialer: new SimulatedDialer(),
  });
  try {
    await queue.migrate();
    await queue.start();
    await limiter.whenSubscribed();
    const before = await probe.stats();
    const sqlBefore = sql.total;
    const started = performance.now();
    // The window is the measurement itself.
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = await probe.stats();
    const seconds = (performance.now() - started) / 1000;
    const commands = after.commands - before.commands;
    return {
      commandsPerSecond: commands / seconds,
      commands,
      seconds,
      sqlPerSecond: (sql.total - sqlBefore) / seconds,
    };
  } finally {
    await queue.close();
    redis.disconnect();
    await bench.dispose();
  }
}
