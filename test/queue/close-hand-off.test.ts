import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import type { SlotLimiter } from '../../src/limiter/slot-limiter.js';
import { postgresDb } from '../support/postgres.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { useRealServers } from '../support/real-servers.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

/**
 * A rolling deploy: process A closes while its calls are live and process B's run of the same
 * business waits in line behind them. Each slot A frees afterwards promotes one of B's jobs,
 * which A will not dial: B must dial it within a second (not after the slot's lease ran out).
 * @param limiters - one limiter per process, over one shared state
 */
async function closeHandsOver(db: Kysely<unknown>, limiters: [SlotLimiter, SlotLimiter]): Promise<void> {
  const closing = new RecordingDialer({ durationMs: 'manual' });
  const live = new RecordingDialer({ durationMs: 'manual' });
  const fixtures: QueueFixture[] = [];
  try {
    const a = await startQueue(closing, { db, limiter: limiters[0] });
    fixtures.push(a);
    const b = await startQueue(live, { db, limiter: limiters[1] });
    fixtures.push(b);

    await a.queue.startRun({ businessId: 'shared', concurrency: 2, leads: leads(2) });
    await eventually(() => closing.liveCalls().length === 2);
    const waiting = await b.queue.startRun({ businessId: 'shared', concurrency: 2, leads: leads(3, 10) });
    await eventually(() => b.logger.named('OUTBOUND_QUEUED').length === 2);

    await a.queue.close();
    const [first, second] = closing.liveCalls();
    await closing.end(first!.callId);
    await eventually(() => live.calls.length === 1, 1000);
    await closing.end(second!.callId);
    await eventually(() => live.calls.length === 2, 1000);

    // B's own ends hand on as usual.
    while (live.liveCalls().length > 0) {
      const ended = live.calls.length;
      await live.end(live.liveCalls()[0]!.callId);
      if (ended < 3) await eventually(() => live.calls.length > ended, 1000);
    }
    const done = await b.queue.waitForRun(waiting.runId, { timeoutMs: 5000 });
    expect(done.counts.completed).toBe(3);
    expect([...live.dialsPerJob().values()]).toEqual([1, 1, 1]);
    expect(live.maxConcurrent('shared')).toBe(2);
  } finally {
    for (const fx of fixtures) await fx.close();
  }
}

/**
 * One process's view of a limiter shared in memory: closing it must not close the other
 * process's (a real process closes only its own connections).
 */
function processView(limiter: MemorySlotLimiter): SlotLimiter {
  const view: SlotLimiter = Object.create(limiter);
  view.close = async () => {};
  return view;
}

describe('close() while another process is live', () => {
  it('hands each slot freed afterwards to the live process within a second (SQLite, memory limiter)', async () => {
    const db = sqliteDb();
    const limiter = new MemorySlotLimiter();
    try {
      await closeHandsOver(db, [processView(limiter), processView(limiter)]);
    } finally {
      await db.destroy();
    }
  });

  const available = requireServer('redis') && requireServer('postgres');
  describe.skipIf(!available)('on PostgreSQL and Redis', () => {
    const servers = useRealServers();

    it('hands each slot freed afterwards to the live process within a second (PostgreSQL, Redis)', async () => {
      const db = postgresDb(await servers.postgres.createDatabase('close_hand_off'), 4);
      const connections = [new Redis(servers.redis.url), new Redis(servers.redis.url)];
      try {
        const [a, b] = connections.map((redis) => new RedisSlotLimiter({ redis }));
        await closeHandsOver(db, [a!, b!]);
      } finally {
        for (const redis of connections) redis.disconnect();
        await db.destroy();
      }
    });
  });
});
