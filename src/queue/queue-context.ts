import type { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { Dialer } from '../dialer/dialer.js';
import type { SlotLimiter } from '../limiter/slot-limiter.js';
import type { Logger } from '../logger.js';
import type { ContactCap } from '../policy/contact-cap.js';
import type { JobStore } from '../store/job-store.js';
import type { BusinessDirectory } from './business-directory.js';
import type { OutboundQueueEventName, OutboundQueueEvents } from './queue-events.js';
import type { SuppressCheck } from './suppression.js';

/** Retry policy for transient dial failures. */
export interface RetryPolicy {
  /** Dial attempts per job, the first included (default 3). */
  maxAttempts: number;
  /** Backoff before the second attempt; doubles each time, with full jitter (default 1,000 ms). */
  baseDelayMs: number;
  /** Longest backoff (default 60,000 ms). */
  maxDelayMs: number;
}

/** What the engine's parts share: the adapters, the settings and this process's identity. */
export interface QueueContext {
  readonly store: JobStore;
  readonly limiter: SlotLimiter;
  readonly dialer: Dialer;
  readonly logger: Logger;
  readonly emitter: EventEmitter;
  readonly processId: string;
  readonly leaseMs: number;
  readonly retry: RetryPolicy;
  /** Dial starts per second of each scope that sets none of its own (a group, a business of no group). */
  readonly dialsPerSecond?: number;
  /** This process's read of business records (scopes, rates). */
  readonly businesses: BusinessDirectory;
  /** The host's do-not-call check, asked before each call. */
  readonly suppress?: SuppressCheck;
  /** The per-number cap over all runs of a business, checked with each claim. */
  readonly contactCap?: ContactCap;
  /** Every timer of the engine goes through it. */
  readonly clock: Clock;
  /** `clock.now`, for brevity. */
  readonly now: () => number;
  readonly newId: () => string;
}

/**
 * Emits a typed queue event to each listener in turn. A listener that throws is logged
 * (`OUTBOUND_LISTENER_FAILED`), as is an async one that rejects, and the ones after it are still called: a host's failing listener
 * must not starve the metrics, the spans or the dashboard's streams, nor reach the engine.
 * `error` events with nobody listening are dropped, never thrown.
 */
export function emit<E extends OutboundQueueEventName>(
  ctx: QueueContext,
  name: E,
  payload: OutboundQueueEvents[E],
): void {
  // rawListeners: a `once` listener is its wrapper, which removes it when called.
  const failed = (err: unknown) => ctx.logger.error({ err, event: name }, 'OUTBOUND_LISTENER_FAILED');
  for (const listener of ctx.emitter.rawListeners(name)) {
    try {
      const returned: unknown = Reflect.apply(listener, ctx.emitter, [payload]);
      // An async listener's rejection is logged too, never left unhandled (it would end the process).
      if (returned instanceof Promise) returned.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}
