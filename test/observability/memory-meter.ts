import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

/** A point as the tests compare it: its attributes and value. */
export interface Point<T> {
  attributes: Record<string, unknown>;
  value: T;
}

/**
 * A MeterProvider whose metrics go to the SDK's in-memory exporter, exported on demand (the
 * periodic export is an hour away): what a host's OTLP pipeline would receive.
 */
export class MemoryMeter {
  private readonly exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  private readonly reader = new PeriodicExportingMetricReader({
    exporter: this.exporter,
    exportIntervalMillis: 3_600_000,
  });
  readonly provider = new MeterProvider({ readers: [this.reader] });

  /** Collects and exports now. @returns the metrics exported, by name */
  async collect(): Promise<Map<string, MetricData>> {
    this.exporter.reset();
    await this.reader.forceFlush();
    const metrics = this.exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    return new Map(metrics.map((m) => [m.descriptor.name, m]));
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/** The points of a counter or gauge, sorted by their attributes. */
export function points(metric: MetricData | undefined): Point<number>[] {
  return sorted(
    ((metric?.dataPoints ?? []) as DataPoint<number>[]).map(({ attributes, value }) => ({
      attributes,
      value,
    })),
  );
}

/** The points of a histogram, sorted by their attributes. */
export function histogramPoints(metric: MetricData | undefined): Point<Histogram>[] {
  return sorted(
    ((metric?.dataPoints ?? []) as DataPoint<Histogram>[]).map(({ attributes, value }) => ({
      attributes,
      value,
    })),
  );
}

/** `list` sorted by attributes, as {@link points} answers. */
export function sorted<T>(list: Point<T>[]): Point<T>[] {
  const key = (p: Point<T>) => JSON.stringify(Object.entries(p.attributes).sort());
  return list.sort((a, b) => key(a).localeCompare(key(b)));
}
