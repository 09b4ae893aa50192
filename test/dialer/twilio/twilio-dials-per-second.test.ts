import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundQueue } from '../../../src/index.js';
import { KyselyStore } from '../../../src/kysely.js';
import { RedisSlotLimiter } from '../../../src/redis.js';
import { createTwilioWebhookHandler } from '../../../src/twilio.js';
import { FakeTwilio } from '../../support/fake-twilio/fake-twilio.js';
import { fakeTwilioDialer } from '../../support/fake-twilio/fake-twilio-client.js';
import { type ServedHandler, serveWebHandler } from '../../support/fake-twilio/webhook-receiver.js';
import { type RedisServerHandle, startRedisServer } from '../../support/redis-server.js';
import { requireServer } from '../../support/servers.js';
import { sqliteDb } from '../../support/sqlite.js';

const available = requireServer('redis');

/** The most create requests the fake saw in any one-second window. */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/**
 * A Twilio account's calls-per-second limit, shared by every process: with `dialsPerSecond: 2`,
 * the fake Twilio never sees more than 2 create requests in any second, from two processes.
 */
describe.skipIf(!available)('dials per second across processes (fake Twilio, real Redis)', () => {
  let redisServer: RedisServerHandle;
  let fake: FakeTwilio;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    redisServer = await startRedisServer();
    fake = await new FakeTwilio({ callDurationMs: 20 }).start();
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await fake?.stop();
    await redisServer?.stop();
  });

  // biome-ignore lint/suspicious/noExplicitAny: the store's tables are untyped for the host
  async function process(db: Kysely<any>): Promise<OutboundQueue> {
    let handler: ((request: Request) => Promise<Response>) | undefined;
    const host: ServedHandler = await serveWebHandler((request) => handler!(request));
    const redis = new Redis(redisServer.url);
    const dialer = fakeTwilioDialer(fake, host.baseUrl);
    // The twilio client loads its Calls resource on first use (~80 ms), which would delay the
    // first create's arrival, not its start: warm it up, so that the fake sees the spacing the
    // queue keeps between dial() calls.
    await dialer.fetchCall('CA00000000000000000000000000000000').catch(() => undefined);
    const queue = new OutboundQueue({
      store: new KyselyStore({ db }),
      limiter: new RedisSlotLimiter({ redis, prefix: 'cps' }),
      dialer,
      dialsPerSecond: 2,
    });
    handler = createTwilioWebhookHandler({ dialer, queue });
    cleanups.push(async () => {
      await queue.close();
      await host.close();
      redis.disconnect();
    });
    await queue.migrate();
    await queue.start();
    return queue;
  }

  it('spaces dial starts so that no second holds more than 2, across two processes', async () => {
    const db = sqliteDb();
    cleanups.push(() => db.destroy());
    const [a, b] = [await process(db), await process(db)];
    const leads = (offset: number) =>
      Array.from({ length: 5 }, (_, i) => ({ to: `+1415555${String(3000 + offset + i).padStart(4, '0')}` }));
    // One Twilio account: both businesses in one group, spaced as one by the queue's rate.
    for (const business of ['cps-a', 'cps-b'])
      await a.setBusinessLimits(business, { concurrency: 3, group: 'account' });
    const runs = await Promise.all([
      a.startRun({ businessId: 'cps-a', concurrency: 3, leads: leads(0) }),
      b.startRun({ businessId: 'cps-b', concurrency: 3, leads: leads(10) }),
    ]);
    for (const run of runs) {
      expect((await a.waitForRun(run.runId, { timeoutMs: 30_000 })).counts.completed).toBe(5);
    }
    const starts = fake.creates.map((c) => c.at);
    expect(starts).toHaveLength(10);
    expect(busiestSecond(starts)).toBeLessThanOrEqual(2);
    // Spaced, not throttled into failures: ten starts take about five seconds.
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(4000);
  });
});
