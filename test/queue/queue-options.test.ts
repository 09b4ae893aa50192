import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { ValidationError } from '../../src/errors.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { OutboundQueue, type OutboundQueueOptions } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { sqliteDb } from '../support/sqlite.js';

describe('OutboundQueue options', () => {
  const db = sqliteDb();
  afterAll(() => db.destroy());
  const base = {
    store: new KyselyStore({ db }),
    limiter: new MemorySlotLimiter(),
    dialer: new SimulatedDialer(),
  };

  function refused(options: Partial<OutboundQueueOptions>): ValidationError {
    try {
      new OutboundQueue({ ...base, ...options });
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return err as ValidationError;
    }
    throw new Error('the options were accepted');
  }

  it.each([
    ['a fractional lease', { leaseMs: 1500.5 }, 'leaseMs'],
    ['a lease too short to renew', { leaseMs: 50 }, 'leaseMs'],
    ['a silent-call check shorter than a call', { silentCallMs: 5_000 }, 'silentCallMs'],
    ['no attempt at all', { retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    ['fractional attempts', { retry: { maxAttempts: 2.5 } }, 'retry.maxAttempts'],
    ['a negative backoff', { retry: { baseDelayMs: -1 } }, 'retry.baseDelayMs'],
    ['a cap under the base backoff', { retry: { baseDelayMs: 5000, maxDelayMs: 100 } }, 'retry.maxDelayMs'],
    ['a zero dial rate', { dialsPerSecond: 0 }, 'dialsPerSecond'],
    ['a clock without timers', { clock: { now: () => 1 } as never }, 'clock'],
  ])('refuses %s with a ValidationError naming it', (_name, options, field) => {
    expect(refused(options as Partial<OutboundQueueOptions>).issues.map((i) => i.field)).toEqual([field]);
  });

  it('names every bad setting at once', () => {
    const error = refused({ leaseMs: 0.5, silentCallMs: 1, retry: { maxAttempts: 0 } });
    expect(error.issues.map((i) => i.field)).toEqual(['leaseMs', 'silentCallMs', 'retry.maxAttempts']);
  });

  it.each([0, -1, 2.5, 100_000])('KyselyStore refuses insertBatchSize %s', (insertBatchSize) => {
    expect(() => new KyselyStore({ db, insertBatchSize })).toThrow(ValidationError);
  });
});

describe('the clock option', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('drives every timer of the engine: a run of minute-long calls ends in virtual time', async () => {
    const clock = new VirtualClock();
    const started = clock.now();
    const dialer = new SimulatedDialer({ durationMs: 60_000, clock });
    fx = await startQueue(dialer, { clock, limiter: new MemorySlotLimiter({ clock }) });
    const run = await fx.queue.startRun({ businessId: 'v', concurrency: 2, leads: leads(4) });
    await clock.advance(1_000);
    expect((await fx.queue.getRun(run.runId)).active).toBe(2);
    // Nothing moves while virtual time stands still.
    await clock.advance(0);
    expect((await fx.queue.getRun(run.runId)).counts.completed).toBe(0);
    await clock.advance(60_000);
    expect((await fx.queue.getRun(run.runId)).counts.completed).toBe(2);
    await clock.advance(60_000);
    const done = await fx.queue.getRun(run.runId);
    expect(done.counts.completed).toBe(4);
    expect(done.status).toBe('completed');
    const jobs = await fx.queue.listJobs(run.runId);
    // Stamped in virtual time: the last call ended two minutes after the start, not now.
    expect(Math.max(...jobs.map((j) => j.endedAt!.getTime())) - started).toBeLessThan(125_000);
  });

  it('refuses a bad contactCap and a suppress that is not a function, rather than ignore them', async () => {
    const { OutboundQueue } = await import('../../src/queue/outbound-queue.js');
    const make = (extra: Record<string, unknown>) => () =>
      new OutboundQueue({
        store: {} as never,
        limiter: new MemorySlotLimiter(),
        dialer: new SimulatedDialer(),
        ...extra,
      } as never);
    expect(make({ contactCap: { count: 0, perMs: 86_400_000 } })).toThrow(/contactCap.count/);
    expect(make({ contactCap: { count: 3, perMs: 86_400_000 } })).not.toThrow();
    expect(make({ suppress: 'yes' })).toThrow(/suppress/);
  });
});
