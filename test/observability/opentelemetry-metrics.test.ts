import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { CALL_BUCKETS, HAND_OFF_BUCKETS } from '../../src/observability/duration-buckets.js';
import { instrumentOpenTelemetry, METRIC_NAMES as M } from '../../src/opentelemetry.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { histogramPoints, MemoryMeter, points, sorted } from './memory-meter.js';
import { EXPECTED, runScenario, scenarioQueue } from './scenario.js';

const BUSINESS = 'outbound_queue.business.id';
const STATUS = 'outbound_queue.job.status';
const RESULT = 'outbound_queue.dial.result';

describe('instrumentOpenTelemetry: metrics', () => {
  let fx: QueueFixture | undefined;
  const meters: MemoryMeter[] = [];
  afterEach(async () => {
    await fx?.close();
    for (const meter of meters.splice(0)) await meter.shutdown();
  });

  function meter(): MemoryMeter {
    const m = new MemoryMeter();
    meters.push(m);
    return m;
  }

  it('exports the counters, gauges and histograms with their names, units and attributes; a dropped business attribute adds up', async () => {
    const started = await scenarioQueue();
    fx = started.fx;
    const byBusiness = meter();
    const pooled = meter();
    instrumentOpenTelemetry(fx.queue, { meterProvider: byBusiness.provider, traces: false });
    instrumentOpenTelemetry(fx.queue, {
      meterProvider: pooled.provider,
      businessAttribute: () => undefined,
      traces: false,
    });

    await runScenario(fx, started.dialer, async () => {
      const mid = await byBusiness.collect();
      const { acme, beta } = EXPECTED.midRun;
      const gauge = (value: number, business: string) => ({ attributes: { [BUSINESS]: business }, value });
      expect(points(mid.get(M.liveCalls))).toEqual([gauge(acme.live, 'acme'), gauge(beta.live, 'beta')]);
      expect(points(mid.get(M.waitingJobs))).toEqual([
        gauge(acme.waiting, 'acme'),
        gauge(beta.waiting, 'beta'),
      ]);
      expect(points(mid.get(M.businessLimit))).toEqual([
        gauge(acme.limit, 'acme'),
        gauge(beta.limit, 'beta'),
      ]);
      expect(mid.get(M.liveCalls)?.descriptor).toMatchObject({ unit: '{call}' });
      expect(mid.get(M.waitingJobs)?.descriptor).toMatchObject({ unit: '{job}' });
      const sum = await pooled.collect();
      expect(points(sum.get(M.liveCalls))).toEqual([{ attributes: {}, value: acme.live + beta.live }]);
      expect(points(sum.get(M.waitingJobs))).toEqual([
        { attributes: {}, value: acme.waiting + beta.waiting },
      ]);
      expect(points(sum.get(M.businessLimit))).toEqual([{ attributes: {}, value: acme.limit + beta.limit }]);
    });

    const end = await byBusiness.collect();
    expect(end.get(M.dials)?.descriptor).toMatchObject({ unit: '{dial}' });
    expect(points(end.get(M.dials))).toEqual([
      { attributes: { [BUSINESS]: 'acme', [RESULT]: 'failed', 'error.type': '21211' }, value: 1 },
      { attributes: { [BUSINESS]: 'acme', [RESULT]: 'placed' }, value: 5 },
      { attributes: { [BUSINESS]: 'beta', [RESULT]: 'placed' }, value: 1 },
    ]);
    expect(end.get(M.callOutcomes)?.descriptor).toMatchObject({ unit: '{call}' });
    const outcomes = (business: string, counts: Record<string, number>) =>
      Object.entries(counts).map(([status, value]) => ({
        attributes: { [BUSINESS]: business, [STATUS]: status },
        value,
      }));
    expect(points(end.get(M.callOutcomes))).toEqual(
      sorted([...outcomes('acme', EXPECTED.acme.outcomes), ...outcomes('beta', EXPECTED.beta.outcomes)]),
    );
    // Nothing live or waiting after the runs: the gauges read zero, read afresh.
    expect(points(end.get(M.liveCalls)).map((p) => p.value)).toEqual([0, 0]);
    expect(points(end.get(M.waitingJobs)).map((p) => p.value)).toEqual([0, 0]);

    for (const name of [M.handOffDuration, M.dialDuration, M.callDuration])
      expect(end.get(name)?.descriptor.unit).toBe('s');
    const handOffs = histogramPoints(end.get(M.handOffDuration));
    expect(handOffs.map((p) => p.attributes)).toEqual([{ [BUSINESS]: 'acme' }]);
    expect(handOffs[0]?.value.buckets.boundaries).toEqual(HAND_OFF_BUCKETS);
    expect(handOffs[0]?.value.count).toBeGreaterThanOrEqual(2);
    expect(handOffs[0]?.value.max).toBeLessThan(5);
    const dialCounts = histogramPoints(end.get(M.dialDuration)).map((p) => [p.attributes, p.value.count]);
    expect(dialCounts).toEqual([
      [{ [BUSINESS]: 'acme', [RESULT]: 'failed' }, 1],
      [{ [BUSINESS]: 'acme', [RESULT]: 'placed' }, 5],
      [{ [BUSINESS]: 'beta', [RESULT]: 'placed' }, 1],
    ]);
    const calls = histogramPoints(end.get(M.callDuration));
    expect(calls.map((p) => [p.attributes, p.value.sum])).toEqual([
      [{ [BUSINESS]: 'acme', 'outbound_queue.call.status': 'completed' }, 30],
      [{ [BUSINESS]: 'acme', 'outbound_queue.call.status': 'no-answer' }, 20],
      [{ [BUSINESS]: 'beta', 'outbound_queue.call.status': 'completed' }, 10],
    ]);
    expect(calls[0]?.value.buckets.boundaries).toEqual(CALL_BUCKETS);

    const all = await pooled.collect();
    expect(points(all.get(M.dials))).toEqual([
      { attributes: { [RESULT]: 'failed', 'error.type': '21211' }, value: 1 },
      { attributes: { [RESULT]: 'placed' }, value: 6 },
    ]);
    expect(points(all.get(M.callOutcomes))).toContainEqual({
      attributes: { [STATUS]: 'completed' },
      value: 2,
    });
    expect(histogramPoints(all.get(M.callDuration)).map((p) => p.value.count)).toEqual([2, 1]);
  });

  it('close() stops feeding the instruments and removes the gauges’ callback', async () => {
    fx = await startQueue(new SimulatedDialer({ durationMs: 0, terminalOnly: true }));
    const closed = meter();
    const open = meter();
    const otel = instrumentOpenTelemetry(fx.queue, { meterProvider: closed.provider, traces: false });
    instrumentOpenTelemetry(fx.queue, { meterProvider: open.provider, traces: false });
    otel.close();
    otel.close();
    const run = await fx.queue.startRun({ businessId: 'c', concurrency: 1, leads: leads(2) });
    await fx.queue.waitForRun(run.runId, { timeoutMs: 30_000 });
    const after = await closed.collect();
    expect(points(after.get(M.dials))).toEqual([]);
    expect(points(after.get(M.callOutcomes))).toEqual([]);
    expect(points(after.get(M.liveCalls))).toEqual([]);
    const control = await open.collect();
    expect(points(control.get(M.dials))).toEqual([
      { attributes: { [BUSINESS]: 'c', [RESULT]: 'placed' }, value: 2 },
    ]);
    expect(points(control.get(M.liveCalls))).toEqual([{ attributes: { [BUSINESS]: 'c' }, value: 0 }]);
  });
});
