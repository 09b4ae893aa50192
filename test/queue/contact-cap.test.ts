import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { postgresDb } from '../support/postgres.js';
import { eventually, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { useRealServers } from '../support/real-servers.js';
import { RecordingDialer } from '../support/recording-dialer.js';
import { requireServer } from '../support/servers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NUMBER = '+12125550100';

/** Contact caps per number per business over all runs, on a virtual clock (SQLite, memory limiter). */
describe('contact caps across runs', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function start() {
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: MINUTE, clock });
    fx = await startQueue(dialer, {
      clock,
      limiter: new MemorySlotLimiter({ clock }),
      contactCap: { count: 2, perMs: HOUR },
    });
    return { dialer, clock, queue: fx.queue };
  }

  it('calls a number at most count times per period over all runs of a business; the next waits without a slot', async () => {
    const { dialer, clock, queue } = await start();
    const runs = [];
    for (let i = 0; i < 3; i++)
      runs.push(await queue.startRun({ businessId: 'b', concurrency: 1, leads: [{ to: NUMBER }] }));
    // Another business is not capped by b's calls.
    await queue.startRun({ businessId: 'other', concurrency: 1, leads: [{ to: NUMBER }] });
    await clock.advance(10 * MINUTE);
    expect(dialer.calls.filter((c) => c.businessId === 'b')).toHaveLength(2);
    expect(dialer.calls.filter((c) => c.businessId === 'other')).toHaveLength(1);
    const third = await queue.getRun(runs[2]!.runId);
    expect(third.waiting).toEqual({ retry: 0, scheduled: 0, window: 0, cap: 1 });
    const job = await queue.getJob((await queue.listJobs(third.runId))[0]!.jobId);
    const first = Math.min(...dialer.calls.map((c) => c.startedAt));
    expect(job.retryAt?.getTime()).toBe(first + HOUR);
    await clock.advance(HOUR);
    const starts = dialer.calls.filter((c) => c.businessId === 'b').map((c) => c.startedAt);
    expect(starts).toHaveLength(3);
    expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(HOUR);
    expect((await queue.getRun(third.runId)).status).toBe('completed');
  });

  it('a capped job whose run is stopped first ends canceled / CONTACT_CAP', async () => {
    const { dialer, clock, queue } = await start();
    await queue.startRun({
      businessId: 'b',
      concurrency: 2,
      leads: [{ to: NUMBER }, { to: '+12125550101' }],
    });
    const later = await queue.startRun({
      businessId: 'b',
      concurrency: 2,
      leads: [{ to: NUMBER }, { to: NUMBER }],
      allowDuplicateNumbers: true,
    });
    await clock.advance(5 * MINUTE);
    expect(dialer.calls.filter((c) => c.to === NUMBER)).toHaveLength(2);
    const stopped = await queue.stop(later.runId);
    const jobs = await queue.listJobs(later.runId);
    expect(stopped.counts.canceled).toBe(1);
    expect(jobs.map((j) => j.errorCode).filter(Boolean)).toEqual(['CONTACT_CAP']);
  });

  it('property: whatever the cap, runs and call lengths, no number is called beyond its cap in any period', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          count: fc.integer({ min: 1, max: 3 }),
          perMs: fc.integer({ min: 1, max: 30 }).map((m) => m * MINUTE),
          runs: fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }), {
            minLength: 1,
            maxLength: 4,
          }),
          durationMs: fc.integer({ min: 1, max: 20 }).map((m) => m * MINUTE),
        }),
        async ({ count, perMs, runs, durationMs }) => {
          const clock = new VirtualClock();
          const dialer = new RecordingDialer({ durationMs, clock });
          const queue = await startQueue(dialer, {
            clock,
            limiter: new MemorySlotLimiter({ clock }),
            contactCap: { count, perMs },
          });
          try {
            for (const numbers of runs)
              await queue.queue.startRun({
                businessId: 'b',
                concurrency: 2,
                allowDuplicateNumbers: true,
                leads: numbers.map((n) => ({ to: `+1212555010${n}` })),
              });
            await clock.advance(8 * HOUR);
            const byNumber = new Map<string, number[]>();
            for (const call of dialer.calls)
              byNumber.set(call.to, [...(byNumber.get(call.to) ?? []), call.startedAt]);
            for (const starts of byNumber.values()) {
              starts.sort((a, b) => a - b);
              for (let i = count; i < starts.length; i++)
                expect(starts[i]! - starts[i - count]!).toBeGreaterThanOrEqual(perMs);
            }
            // Every lead was called in the end: capped leads waited, none was lost.
            expect(dialer.calls).toHaveLength(runs.flat().length);
          } finally {
            await queue.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses a bad cap', () => {
    const make = (contactCap: unknown) =>
      new OutboundQueue({
        store: {} as never,
        limiter: new MemorySlotLimiter(),
        dialer: new RecordingDialer(),
        contactCap: contactCap as never,
      });
    for (const bad of [
      { count: 0, perMs: HOUR },
      { count: 2, perMs: 10 },
      'daily',
      { count: 1.5, perMs: HOUR },
    ])
      expect(() => make(bad)).toThrow(ValidationError);
  });
});

const available = requireServer('redis') && requireServer('postgres');
describe.skipIf(!available)('contact caps on PostgreSQL across two processes', () => {
  const servers = useRealServers();

  it('two processes racing 20 runs for one number dial it no more than the cap', async () => {
    const db = postgresDb(await servers.postgres.createDatabase('contact_cap'), 8);
    const redis = new Redis(servers.redis.url);
    const dialer = new RecordingDialer({ durationMs: 20 });
    const queues = [0, 1].map(
      () =>
        new OutboundQueue({
          store: new KyselyStore({ db }),
          limiter: new RedisSlotLimiter({ redis }),
          dialer,
          contactCap: { count: 3, perMs: HOUR },
        }),
    );
    try {
      await queues[0]!.migrate();
      for (const q of queues) await q.start();
      const runs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          queues[i % 2]!.startRun({ businessId: 'capped', concurrency: 5, leads: [{ to: NUMBER }] }),
        ),
      );
      const waitingForCap = async () => {
        let n = 0;
        for (const run of runs) n += (await queues[0]!.getRun(run.runId)).waiting?.cap ?? 0;
        return n;
      };
      await eventually(async () => (await waitingForCap()) === 17, 20_000);
      expect(dialer.calls.filter((c) => c.to === NUMBER)).toHaveLength(3);
      for (const run of runs) await queues[0]!.stop(run.runId);
      const codes = (await Promise.all(runs.map((r) => queues[0]!.listJobs(r.runId))))
        .flat()
        .map((j) => j.errorCode ?? j.status);
      expect(codes.filter((c) => c === 'CONTACT_CAP')).toHaveLength(17);
    } finally {
      for (const q of queues) await q.close();
      redis.disconnect();
      await db.destroy();
    }
  });
});
