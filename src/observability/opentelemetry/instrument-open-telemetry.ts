import { type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api';
import type { OutboundQueue } from '../../queue/outbound-queue.js';
import { type BusinessAttribute, meterQueue } from './queue-meters.js';
import { traceQueue } from './queue-spans.js';

/** Options of {@link instrumentOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /** Where the instruments are created (default: the global one, `metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Where the spans go (default: the global one, `trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /**
   * The value of the `outbound_queue.business.id` attribute on every metric, for a business id
   * (default: the id itself). Return a bucket (a plan, a shard, `'other'`) to bound the number
   * of series with many businesses, or undefined to leave the attribute out: the business's
   * values then add up with the others'. Spans always carry the id itself.
   */
  businessAttribute?: (businessId: string) => string | undefined;
  /** Record spans (default true). */
  traces?: boolean;
}

/** What {@link instrumentOpenTelemetry} returns. */
export interface OpenTelemetryInstrumentation {
  /** Stops feeding the instruments and recording spans (dial spans still open are ended). Idempotent. */
  close(): void;
}

/**
 * Exports a queue's metrics and spans through the OpenTelemetry API (`@opentelemetry/api`, an
 * optional peer; the host brings the SDK and its exporters). Counters and histograms count this
 * process's events; gauges read every business's live calls, limit and waiting jobs from the
 * store at each collection (one read, shared by collections made at the same time). The names,
 * units and attributes are listed in docs/observability.md.
 * @param queue - the queue to observe
 * @param options - providers (default the global ones), the business attribute, traces on or off
 * @returns a handle whose `close()` stops the instrumentation
 *
 * @example
 * ```ts
 * const otel = instrumentOpenTelemetry(queue, { businessAttribute: (id) => (vip.has(id) ? id : undefined) });
 * // ... on shutdown:
 * otel.close();
 * ```
 */
export function instrumentOpenTelemetry(
  queue: OutboundQueue,
  options: OpenTelemetryOptions = {},
): OpenTelemetryInstrumentation {
  const businessAttribute: BusinessAttribute = options.businessAttribute ?? ((id) => id);
  const stops = [meterQueue(queue, options.meterProvider ?? metrics.getMeterProvider(), businessAttribute)];
  if (options.traces !== false)
    stops.push(traceQueue(queue, options.tracerProvider ?? trace.getTracerProvider()));
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      for (const stop of stops) stop();
    },
  };
}
