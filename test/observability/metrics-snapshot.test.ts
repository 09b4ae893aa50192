import { afterEach, describe, expect, it } from 'vitest';
import type { JobDialingEvent } from '../../src/queue/queue-events.js';
import type { QueueFixture } from '../support/queue-fixture.js';
import { EXPECTED, runScenario, scenarioQueue } from './scenario.js';

describe('queue.metrics()', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('counts the dials, outcomes and durations that happened, and reads the gauges getBusiness reads', async () => {
    const started = await scenarioQueue();
    fx = started.fx;
    const { queue } = fx;
    const handOffs: number[] = [];
    queue.on('job:dialing', (e: JobDialingEvent) => {
      if (e.handOffMs !== undefined) handOffs.push(e.handOffMs);
    });
    await runScenario(fx, started.dialer, async () => {
      const snapshot = await queue.metrics();
      for (const businessId of ['acme', 'beta'] as const) {
        const business = await queue.getBusiness(businessId);
        const metrics = snapshot.businesses.find((b) => b.businessId === businessId);
        expect(metrics).toMatchObject(EXPECTED.midRun[businessId]);
        expect({ live: metrics?.live, waiting: metrics?.waiting }).toEqual({
          live: business.active,
          waiting: business.waiting,
        });
      }
    });

    const snapshot = await queue.metrics();
    expect(snapshot.businesses).toEqual([
      { businessId: 'acme', ...EXPECTED.acme, live: 0, waiting: 0 },
      { businessId: 'beta', ...EXPECTED.beta, live: 0, waiting: 0 },
    ]);
    expect(snapshot.since).toBeLessThanOrEqual(snapshot.takenAt);
    // Every dial of a job handed a freed slot, no more: the first three took free slots.
    expect(handOffs.length).toBeGreaterThanOrEqual(2);
    expect(handOffs.length).toBeLessThanOrEqual(4);
    expect(snapshot.handOffDuration).toMatchObject({ unit: 's', count: handOffs.length });
    expect(snapshot.handOffDuration.sum).toBeCloseTo(handOffs.reduce((a, b) => a + b, 0) / 1000, 9);
    expect(snapshot.dialDuration.count).toBe(EXPECTED.acme.dials + EXPECTED.beta.dials);
    expect(snapshot.dialDuration.max).toBeLessThan(5);
    expect(snapshot.callDuration).toMatchObject({
      unit: 's',
      ...EXPECTED.callDurations,
      min: 10,
      max: 30,
    });
    // Estimated within the bucket of the median (20 s): (15, 30].
    expect(snapshot.callDuration.p50).toBeGreaterThan(15);
    expect(snapshot.callDuration.p50).toBeLessThanOrEqual(30);
  });

  it('lists a business with a live run before this process dialed for it, with its limit', async () => {
    const started = await scenarioQueue();
    fx = started.fx;
    await fx.queue.setBusinessLimits('idle', { concurrency: 4 });
    await fx.queue.startRun({
      businessId: 'idle',
      concurrency: 2,
      leads: [{ to: '+14155550199' }],
      startAt: new Date(Date.now() + 3_600_000),
    });
    const snapshot = await fx.queue.metrics();
    expect(snapshot.businesses).toEqual([
      { businessId: 'idle', dials: 0, dialFailures: 0, outcomes: {}, live: 0, limit: 4, waiting: 1 },
    ]);
  });
});
