import { type Span, SpanKind, SpanStatusCode, type TracerProvider } from '@opentelemetry/api';
import type { OutboundQueue } from '../../queue/outbound-queue.js';
import { listenTo } from './queue-listeners.js';
import { ATTRIBUTE_NAMES as A, SPAN_NAMES } from './semantic-names.js';

/**
 * Records the queue's spans on `tracerProvider`, built from its events: one per `dial()` (from
 * `job:dialing` to `job:dialed`) and one per call event written. Each is a root span: nothing is
 * propagated into the dialer or out of `handleCallEvent`; the job, run and business ids tie them.
 * @returns removes the listeners, and ends the dial spans still open
 */
export function traceQueue(queue: OutboundQueue, tracerProvider: TracerProvider): () => void {
  const tracer = tracerProvider.getTracer('outbound-queue');
  /** Dial spans whose `dial()` has not answered, by job and attempt. */
  const dialing = new Map<string, Span>();
  const key = (e: { jobId: string; attempt: number }) => `${e.jobId}\u0000${e.attempt}`;
  const off = listenTo(queue, {
    'job:dialing': (e) => {
      const span = tracer.startSpan(SPAN_NAMES.dial, {
        kind: SpanKind.CLIENT,
        attributes: {
          [A.jobId]: e.jobId,
          [A.runId]: e.runId,
          [A.businessId]: e.businessId,
          [A.jobAttempt]: e.attempt,
        },
      });
      dialing.get(key(e))?.end();
      dialing.set(key(e), span);
    },
    'job:dialed': (e) => {
      const span = dialing.get(key(e));
      if (!span) return;
      dialing.delete(key(e));
      if (e.callId !== undefined) span.setAttributes({ [A.callId]: e.callId, [A.dialResult]: 'placed' });
      if (e.errorCode !== undefined) {
        span.setAttributes({ [A.dialResult]: 'failed', [A.errorType]: e.errorCode });
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.errorCode });
      }
      span.end();
    },
    'call:event': (e) => {
      const startTime = performance.timeOrigin + performance.now() - e.durationMs;
      tracer
        .startSpan(SPAN_NAMES.callEvent, {
          kind: SpanKind.INTERNAL,
          startTime,
          attributes: {
            [A.jobId]: e.jobId,
            ...(e.runId !== undefined && { [A.runId]: e.runId }),
            ...(e.businessId !== undefined && { [A.businessId]: e.businessId }),
            [A.callStatus]: e.status,
            [A.callEventResult]: e.result,
          },
        })
        .end();
    },
  });
  return () => {
    off();
    for (const span of dialing.values()) span.end();
    dialing.clear();
  };
}
