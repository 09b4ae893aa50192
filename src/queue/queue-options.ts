import { type Clock, isClock, systemClock } from '../clock.js';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { type ContactCap, checkContactCap } from '../policy/contact-cap.js';
import type { RetryPolicy } from './queue-context.js';

/** The settings of `OutboundQueueOptions` that need checking, as the host passed them. */
export interface QueueSettingsInput {
  leaseMs?: number;
  silentCallMs?: number;
  retry?: Partial<RetryPolicy>;
  dialsPerSecond?: number;
  clock?: Clock;
  /** Checked: `{ count, perMs }`. */
  contactCap?: unknown;
  /** Must be a function when given. */
  suppress?: unknown;
}

/** The settings, checked and with their defaults. */
export interface QueueSettings {
  leaseMs: number;
  silentCallMs: number;
  retry: RetryPolicy;
  dialsPerSecond?: number;
  clock: Clock;
  contactCap?: ContactCap;
}

/** The shortest lease: renewals run every third of it, and each is a round trip. */
const MIN_LEASE_MS = 100;
/**
 * The shortest silence before a live call is checked: without `fetchCall` a call silent that long
 * is ended `CALL_LOST` and its slot freed, so it must outlast any real call's quiet stretch.
 */
const MIN_SILENT_CALL_MS = 60_000;
const MAX_ATTEMPTS = 100;

const isWhole = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/**
 * Checks the queue's settings as a whole and fills in the defaults. A setting that would stall
 * the queue (a fractional lease the limiter refuses later, a retry policy without attempts) is
 * refused here rather than found at the first dial.
 * @param input - the settings as given
 * @returns the settings with defaults
 * @throws {@link ValidationError} naming each bad setting
 */
export function queueSettings(input: QueueSettingsInput): QueueSettings {
  const issues: ValidationIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ field, message });
  const leaseMs = input.leaseMs ?? 30_000;
  if (!isWhole(leaseMs, MIN_LEASE_MS))
    bad('leaseMs', `must be a whole number of ms, at least ${MIN_LEASE_MS}`);
  const silentCallMs = input.silentCallMs ?? 3_600_000;
  if (!isWhole(silentCallMs, MIN_SILENT_CALL_MS))
    bad(
      'silentCallMs',
      `must be a whole number of ms, at least ${MIN_SILENT_CALL_MS} (longer than any call's silence)`,
    );
  const retry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000, ...input.retry };
  if (!isWhole(retry.maxAttempts, 1) || retry.maxAttempts > MAX_ATTEMPTS)
    bad('retry.maxAttempts', `must be a whole number from 1 to ${MAX_ATTEMPTS}`);
  if (!isWhole(retry.baseDelayMs, 0)) bad('retry.baseDelayMs', 'must be a whole number of ms, at least 0');
  if (!isWhole(retry.maxDelayMs, 0) || retry.maxDelayMs < retry.baseDelayMs)
    bad('retry.maxDelayMs', 'must be a whole number of ms, at least retry.baseDelayMs');
  const { dialsPerSecond } = input;
  if (dialsPerSecond !== undefined && !(Number.isFinite(dialsPerSecond) && dialsPerSecond > 0))
    bad('dialsPerSecond', 'must be a positive number');
  const clock = input.clock ?? systemClock;
  if (!isClock(clock)) bad('clock', 'must have now(), setTimeout(fn, ms) and clearTimeout(handle)');
  if (input.suppress !== undefined && typeof input.suppress !== 'function')
    bad('suppress', 'must be a function (job) => false | reason');
  if (input.contactCap !== undefined) checkContactCap(input.contactCap, (issue) => issues.push(issue));
  if (issues.length > 0) throw new ValidationError(issues);
  const contactCap = input.contactCap as ContactCap | undefined;
  return { leaseMs, silentCallMs, retry, dialsPerSecond, clock, contactCap };
}
