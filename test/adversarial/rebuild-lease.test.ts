/**
 * After Redis restarts empty, the limiter rebuilds a business's slots from the database. The slots
 * it rebuilds must carry the queue's lease: a holder that died meanwhile (or a call whose webhook
 * was lost) is then found within about a lease, as it would have been without the restart.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { eventually, leads } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { pollUntil, requireServer } from '../support/servers.js';
import { sqliteDb } from '../support/sqlite.js';

const LEASE_MS = 300;

describe.skipIf(!requireServer('redis'))('slots rebuilt after Redis restarted empty', () => {
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

  it('keep the queue lease, so a lost webhook is resolved within a few leases', async () => {
    const db = sqliteDb();
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const clients: Redis[] = [];
    const queueOnRedis = () => {
      const redis = new Redis(server.url);
      redis.on('error', () => {});
      clients.push(redis);
      const limiter = new RedisSlotLimiter({ redis, prefix: 'rebuild-lease' });
      return new OutboundQueue({ store: new KyselyStore({ db }), limiter, dialer, leaseMs: LEASE_MS });
    };
    // A dials; B only serves the status webhook; C takes over after A is gone.
    const a = queueOnRedis();
    const b = queueOnRedis();
    const c = queueOnRedis();
    closers.push(async () => {
      await c.close();
      await b.close();
      await a.close();
      for (const redis of clients) redis.disconnect();
      await db.destroy();
    });
    await a.migrate();
    await a.start();
    const run = await a.startRun({ businessId: 'rl', concurrency: 2, leads: leads(3) });
    await eventually(() => dialer.calls.length === 2);
    await eventually(async () => (await a.listJobs(run.runId, { status: 'dialing' })).every((j) => j.callId));
    // A goes away (its slots are no longer renewed) and Redis loses everything.
    await a.close();
    await server.restart({ empty: true });

    // The first call's end reaches B: the first operation on the business after the restart is
    // this release, which rebuilds the business from the database (the second call still holds).
    const [first, second] = dialer.calls;
    dialer.hangUp(first!.callId);
    const end = { jobId: first!.jobId, lockToken: first!.lockToken, callId: first!.callId };
    expect((await b.handleCallEvent({ ...end, status: 'completed' })).applied).toBe(true);

    // The second call ends too, but its webhook is lost: only the reconciler (C's, once it owns
    // the run) can find out, when the rebuilt slot's lease runs out and it asks fetchCall.
    dialer.hangUp(second!.callId);
    await c.start();
    const startedAt = Date.now();
    const resolved = await pollUntil(async () => {
      const job = (await c.listJobs(run.runId)).find((j) => j.jobId === second!.jobId);
      return job?.status === 'completed';
    }, 10_000);
    const resolvedMs = Date.now() - startedAt;
    console.log(
      `lost webhook after an empty Redis restart: ${resolved ? `resolved in ${resolvedMs} ms` : 'not resolved in 10 s'} (lease ${LEASE_MS} ms)`,
    );
    expect(resolved, 'the lost webhook was not resolved within 10 s').toBe(true);
    expect(resolvedMs).toBeLessThan(10 * LEASE_MS);
  });
});
