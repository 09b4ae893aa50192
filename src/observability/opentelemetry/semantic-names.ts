/**
 * The names of the queue's OpenTelemetry instruments and attributes, after OpenTelemetry's
 * naming conventions: a dot-separated `outbound_queue` namespace, `.duration` histograms in
 * seconds, counts in curly-brace units. See docs/observability.md for what each one means.
 */

/** Names of the instruments `instrumentOpenTelemetry` creates. */
export const METRIC_NAMES = {
  /** Counter, `{dial}`: `dial()` calls, by business and result (and error type when failed). */
  dials: 'outbound_queue.dials',
  /** Counter, `{call}`: ends of job attempts, by business and the job status they left. */
  callOutcomes: 'outbound_queue.call.outcomes',
  /** Observable gauge, `{call}`: calls live now, by business (over every process). */
  liveCalls: 'outbound_queue.calls.live',
  /** Observable gauge, `{call}`: the business's concurrency limit now. */
  businessLimit: 'outbound_queue.business.limit',
  /** Observable gauge, `{job}`: jobs waiting now in the business's live runs. */
  waitingJobs: 'outbound_queue.jobs.waiting',
  /** Histogram, `s`: from a call's end reaching the queue to the `dial()` of the job handed its slot. */
  handOffDuration: 'outbound_queue.hand_off.duration',
  /** Histogram, `s`: `dial()` called to returned or thrown. */
  dialDuration: 'outbound_queue.dial.duration',
  /** Histogram, `s`: call duration as the provider reported it. */
  callDuration: 'outbound_queue.call.duration',
} as const;

/** Names of the spans `instrumentOpenTelemetry` records. */
export const SPAN_NAMES = {
  /** One per `dial()`, kind CLIENT, from `job:dialing` to `job:dialed`. */
  dial: 'outbound_queue.dial',
  /** One per call event written, kind INTERNAL. */
  callEvent: 'outbound_queue.call_event',
} as const;

/** Names of the attributes on the queue's metrics and spans. */
export const ATTRIBUTE_NAMES = {
  /** The business (tenant); on metrics, as `businessAttribute` maps it. */
  businessId: 'outbound_queue.business.id',
  /** The run (spans only). */
  runId: 'outbound_queue.run.id',
  /** The job (spans only). */
  jobId: 'outbound_queue.job.id',
  /** The job's attempt number, 1 on the first dial (spans only). */
  jobAttempt: 'outbound_queue.job.attempt',
  /** The job status an attempt's end left (`completed`, `busy`, ..., `queued` for a retry). */
  jobStatus: 'outbound_queue.job.status',
  /** The provider's call id (dial spans of placed calls). */
  callId: 'outbound_queue.call.id',
  /** The call status a call event reported (`ringing`, `completed`, `no-answer`, ...). */
  callStatus: 'outbound_queue.call.status',
  /** What `dial()` did: `placed` or `failed`. */
  dialResult: 'outbound_queue.dial.result',
  /** What became of a call event: `applied` or `ignored`. */
  callEventResult: 'outbound_queue.call_event.result',
  /** OpenTelemetry's general error attribute: the failed dial's error code (`DialError.providerCode`, else `DIAL_ERROR`). */
  errorType: 'error.type',
} as const;
