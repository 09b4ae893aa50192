import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentOpenTelemetry, SPAN_NAMES } from '../../src/opentelemetry.js';
import type { QueueFixture } from '../support/queue-fixture.js';
import { EXPECTED, runScenario, scenarioQueue } from './scenario.js';

const A = {
  job: 'outbound_queue.job.id',
  run: 'outbound_queue.run.id',
  business: 'outbound_queue.business.id',
  attempt: 'outbound_queue.job.attempt',
  callStatus: 'outbound_queue.call.status',
  result: 'outbound_queue.call_event.result',
};

describe('instrumentOpenTelemetry: traces', () => {
  let fx: QueueFixture | undefined;
  let tracerProvider: BasicTracerProvider | undefined;
  afterEach(async () => {
    await fx?.close();
    await tracerProvider?.shutdown();
  });

  it('records one dial span per dial with its ids (an error for a failed one) and one span per call event', async () => {
    const started = await scenarioQueue();
    fx = started.fx;
    const exporter = new InMemorySpanExporter();
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const otel = instrumentOpenTelemetry(fx.queue, { tracerProvider, meterProvider: new MeterProvider() });
    const runs = await runScenario(fx, started.dialer);

    const spans = exporter.getFinishedSpans();
    const dials = spans.filter((s) => s.name === SPAN_NAMES.dial);
    expect(dials).toHaveLength(EXPECTED.acme.dials + EXPECTED.beta.dials);
    const dialed = started.dialer.calls;
    for (const span of dials) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      const { [A.job]: jobId, [A.business]: businessId, [A.run]: runId } = span.attributes;
      expect(runId).toBe(businessId === 'acme' ? runs.acme : runs.beta);
      expect(typeof jobId).toBe('string');
      expect(span.attributes[A.attempt]).toBeGreaterThanOrEqual(1);
    }
    // One span per (job, attempt), and the retried job twice.
    const attempts = dials.map((s) => `${s.attributes[A.job]}#${s.attributes[A.attempt]}`);
    expect(new Set(attempts).size).toBe(dials.length);
    const placed = dials.filter((s) => s.status.code !== SpanStatusCode.ERROR);
    expect(placed.map((s) => s.attributes['outbound_queue.call.id']).sort()).toEqual(
      dialed.map((c) => c.callId).sort(),
    );
    const failed = dials.filter((s) => s.status.code === SpanStatusCode.ERROR);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.status.message).toBe('21211');
    expect(failed[0]?.attributes).toMatchObject({
      'error.type': '21211',
      'outbound_queue.dial.result': 'failed',
    });

    // The six ends, each applied; then a duplicate end, ignored.
    const call = dialed[0]!;
    await fx.queue.handleCallEvent({ jobId: call.req.jobId, callId: call.callId, status: 'completed' });
    const events = exporter.getFinishedSpans().filter((s) => s.name === SPAN_NAMES.callEvent);
    expect(events.map((s) => s.attributes[A.result])).toEqual([...Array(6).fill('applied'), 'ignored']);
    for (const span of events.slice(0, 6)) {
      expect(span.attributes).toMatchObject({
        [A.run]: expect.any(String),
        [A.business]: expect.any(String),
      });
      expect(['completed', 'busy', 'no-answer', 'failed']).toContain(span.attributes[A.callStatus]);
    }
    expect(events[6]?.attributes).toMatchObject({ [A.job]: call.req.jobId, [A.callStatus]: 'completed' });

    otel.close();
    const before = exporter.getFinishedSpans().length;
    await fx.queue.handleCallEvent({ jobId: call.req.jobId, callId: call.callId, status: 'completed' });
    expect(exporter.getFinishedSpans()).toHaveLength(before);
  });

  it('records no spans with traces: false', async () => {
    const started = await scenarioQueue();
    fx = started.fx;
    const exporter = new InMemorySpanExporter();
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    instrumentOpenTelemetry(fx.queue, { tracerProvider, traces: false, meterProvider: new MeterProvider() });
    await runScenario(fx, started.dialer);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
