/**
 * `outbound-queue`: bulk outbound calls for many businesses at once, within each business's
 * concurrency limit, at most once per lead, without stalling.
 * @packageDocumentation
 */

export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export type {
  CallFound,
  CallsAmbiguous,
  DialContext,
  Dialer,
  DialRequest,
  DialResult,
  FindCallResult,
  FoundCall,
  NoCallFound,
} from './dialer/dialer.js';
export type { SimulatedDialerOptions } from './dialer/simulated-dialer.js';
export { SimulatedDialer } from './dialer/simulated-dialer.js';
export type { DialFailureKind, OutboundQueueErrorCode, ValidationIssue } from './errors.js';
export {
  ClosedError,
  DialError,
  IdempotencyConflictError,
  InvalidStateError,
  NotFoundError,
  OutboundQueueError,
  ScopeMovedError,
  TimeoutError,
  ValidationError,
  WebhookSignatureError,
} from './errors.js';
export { businessScope, groupOfScope, groupScope } from './limiter/limiter-scope.js';
export type { MemorySlotLimiterOptions } from './limiter/memory-slot-limiter.js';
export { MemorySlotLimiter } from './limiter/memory-slot-limiter.js';
export type {
  AcquireManyResult,
  AcquireResult,
  AcquireStatus,
  BusinessLimitChange,
  DialRate,
  LimitChange,
  LimitsResult,
  RebuildOptions,
  ReleaseResult,
  RunLimit,
  RunLimitChange,
  ScopeMember,
  SlotAsk,
  SlotHolder,
  SlotHolderSource,
  SlotHolders,
  SlotLevels,
  SlotLimiter,
  SlotSignal,
} from './limiter/slot-limiter.js';
export type { Logger } from './logger.js';
export type { HistogramBucket, HistogramSnapshot } from './observability/fixed-bucket-histogram.js';
export type { BusinessMetrics, QueueMetricsSnapshot } from './observability/queue-metrics.js';
export type { CallingRule, CallingWindow, TimeRange, WeeklyHours } from './policy/calling-window.js';
export { DEFAULT_END_MARGIN_MS } from './policy/calling-window.js';
export type { ContactCap } from './policy/contact-cap.js';
export type { Weekday } from './policy/local-time.js';
export { timeZonesOfNumber } from './policy/phone-time-zones.js';
export { US_CALLING_RULES } from './policy/us-calling-rules.js';
export type { CallEventResult, OutboundQueueOptions } from './queue/outbound-queue.js';
export { OutboundQueue } from './queue/outbound-queue.js';
export type { PurgeOptions, PurgeResult } from './queue/purge-runs.js';
export type { RetryPolicy } from './queue/queue-context.js';
export type {
  CallEventHandledEvent,
  CallEventOutcome,
  JobDialedEvent,
  JobDialingEvent,
  JobEndedEvent,
  JobWaitingEvent,
  OutboundQueueEventName,
  OutboundQueueEvents,
  RunCompletedEvent,
  RunStatusEvent,
  SlotReleasedEvent,
} from './queue/queue-events.js';
export type { SuppressCheck, SuppressionQuery } from './queue/suppression.js';
export { isE164 } from './queue/validate-run-input.js';
export type {
  BusinessLimitsRecord,
  BusinessLoad,
  BusinessRecord,
  ClaimedJob,
  CreateRunResult,
  DeferredJob,
  EndedCall,
  GroupLimitsRecord,
  GroupRecord,
  JobRoute,
  JobStore,
  JobsOffCall,
  JobTransition,
  NewJob,
  NewRun,
  PurgedJobs,
  PutBusinessLimitsResult,
  QueuedJobRef,
  RunLimitsChange,
  RunQuery,
  RunRecord,
  TransitionResult,
} from './store/job-store.js';
export type {
  BusinessLimitsInput,
  BusinessRunSummary,
  BusinessSummary,
  CallEvent,
  CallStatus,
  GroupLimits,
  GroupLimitsInput,
  Job,
  JobAttempt,
  JobMetadata,
  JobStatus,
  LeadInput,
  ListJobsOptions,
  ListRunsOptions,
  RetryOutcome,
  RetryRule,
  RunRetryPolicy,
  RunStatus,
  RunSummary,
  StartRunInput,
  StartRunResult,
  StopOptions,
  WaitForRunOptions,
  WaitingCounts,
} from './types.js';
export {
  JOB_STATUSES,
  LIVE_JOB_STATUSES,
  RETRY_OUTCOMES,
  RUN_STATUSES,
  TERMINAL_JOB_STATUSES,
} from './types.js';
