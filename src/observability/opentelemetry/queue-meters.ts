import {
  type Attributes,
  type BatchObservableResult,
  type MeterProvider,
  type Observable,
  ValueType,
} from '@opentelemetry/api';
import type { OutboundQueue } from '../../queue/outbound-queue.js';
import { CALL_BUCKETS, DIAL_BUCKETS, HAND_OFF_BUCKETS } from '../duration-buckets.js';
import type { QueueMetricsSnapshot } from '../queue-metrics.js';
import { listenTo } from './queue-listeners.js';
import { ATTRIBUTE_NAMES as A, METRIC_NAMES as M } from './semantic-names.js';

/** Maps a business id to its metric attribute value; undefined leaves the attribute out. */
export type BusinessAttribute = (businessId: string) => string | undefined;

/**
 * Creates the queue's instruments on `meterProvider` and feeds them: counters and histograms from
 * the queue's events, gauges from `queue.metrics()` at each collection.
 * @param businessAttribute - the business attribute's value on every instrument
 * @returns removes the listeners and the gauges' callback
 */
export function meterQueue(
  queue: OutboundQueue,
  meterProvider: MeterProvider,
  businessAttribute: BusinessAttribute,
): () => void {
  const meter = meterProvider.getMeter('outbound-queue');
  const business = (businessId: string): Attributes => {
    const value = businessAttribute(businessId);
    return value === undefined ? {} : { [A.businessId]: value };
  };
  const dials = meter.createCounter(M.dials, {
    unit: '{dial}',
    description: 'dial() calls, placed or failed',
    valueType: ValueType.INT,
  });
  const outcomes = meter.createCounter(M.callOutcomes, {
    unit: '{call}',
    description: "Ends of job attempts, by the job status they left (terminal, or 'queued' for a retry)",
    valueType: ValueType.INT,
  });
  const seconds = (name: string, description: string, boundaries: readonly number[]) =>
    meter.createHistogram(name, {
      unit: 's',
      description,
      advice: { explicitBucketBoundaries: [...boundaries] },
    });
  const handOff = seconds(
    M.handOffDuration,
    "From a call's end reaching the queue to the dial() of the job handed its slot",
    HAND_OFF_BUCKETS,
  );
  const dialDuration = seconds(M.dialDuration, 'dial() called to returned or thrown', DIAL_BUCKETS);
  const callDuration = seconds(M.callDuration, 'Call duration as the provider reported it', CALL_BUCKETS);
  const off = listenTo(queue, {
    'job:dialing': (e) => {
      if (e.handOffMs !== undefined) handOff.record(e.handOffMs / 1000, business(e.businessId));
    },
    'job:dialed': (e) => {
      const result = {
        ...business(e.businessId),
        [A.dialResult]: e.errorCode === undefined ? 'placed' : 'failed',
      };
      dials.add(1, e.errorCode === undefined ? result : { ...result, [A.errorType]: e.errorCode });
      dialDuration.record(e.durationMs / 1000, result);
    },
    'job:ended': (e) => outcomes.add(1, { ...business(e.businessId), [A.jobStatus]: e.status }),
    'call:event': (e) => {
      if (e.callDurationSec === undefined || e.businessId === undefined) return;
      callDuration.record(e.callDurationSec, { ...business(e.businessId), [A.callStatus]: e.status });
    },
  });
  const gauges = {
    live: meter.createObservableGauge(M.liveCalls, {
      unit: '{call}',
      description: 'Calls live now, over every process',
      valueType: ValueType.INT,
    }),
    limit: meter.createObservableGauge(M.businessLimit, {
      unit: '{call}',
      description: "The business's concurrency limit (its own, else its live runs' highest)",
      valueType: ValueType.INT,
    }),
    waiting: meter.createObservableGauge(M.waitingJobs, {
      unit: '{job}',
      description: "Jobs waiting in the business's live runs, over every process",
      valueType: ValueType.INT,
    }),
  };
  const read = sharedReads(() => queue.metrics());
  const observe = async (result: BatchObservableResult) => {
    for (const group of groupByAttribute((await read()).businesses, businessAttribute)) {
      result.observe(gauges.live, group.live, group.attributes);
      result.observe(gauges.waiting, group.waiting, group.attributes);
      if (group.limit !== undefined) result.observe(gauges.limit, group.limit, group.attributes);
    }
  };
  const observables: Observable[] = [gauges.live, gauges.limit, gauges.waiting];
  meter.addBatchObservableCallback(observe, observables);
  return () => {
    off();
    meter.removeBatchObservableCallback(observe, observables);
  };
}

/**
 * `read`, with the calls made while one is under way sharing its answer: readers collecting at
 * once (several exporters) make one store read, and each collection reads fresh values.
 */
function sharedReads(read: () => Promise<QueueMetricsSnapshot>): () => Promise<QueueMetricsSnapshot> {
  let pending: Promise<QueueMetricsSnapshot> | undefined;
  return () => {
    if (pending) return pending;
    const reading = read().finally(() => {
      if (pending === reading) pending = undefined;
    });
    pending = reading;
    return reading;
  };
}

/** The gauges of the businesses that share one attribute value, summed (limits too: their capacity). */
interface GaugeGroup {
  attributes: Attributes;
  live: number;
  waiting: number;
  limit?: number;
}

/** Sums the businesses' gauges by the value `businessAttribute` gives each (one group without it). */
function groupByAttribute(
  businesses: QueueMetricsSnapshot['businesses'],
  businessAttribute: BusinessAttribute,
): GaugeGroup[] {
  const groups = new Map<string | undefined, GaugeGroup>();
  for (const b of businesses) {
    const value = businessAttribute(b.businessId);
    let group = groups.get(value);
    if (!group) {
      group = { attributes: value === undefined ? {} : { [A.businessId]: value }, live: 0, waiting: 0 };
      groups.set(value, group);
    }
    group.live += b.live;
    group.waiting += b.waiting;
    if (b.limit !== undefined) group.limit = (group.limit ?? 0) + b.limit;
  }
  return [...groups.values()];
}
