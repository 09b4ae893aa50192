import { ValidationError } from '../errors.js';
import type {
  AcquireManyResult,
  AcquireResult,
  AcquireStatus,
  DialRate,
  LimitChange,
  SlotAsk,
} from './slot-limiter.js';

/**
 * Lease of the slots of holders read from the holder source by an operation that carries no lease
 * (`release`); the holders' renewals replace it soon after.
 */
export const DEFAULT_HOLDER_LEASE_MS = 30_000;

function reject(field: string, message: string): never {
  throw new ValidationError([{ field, message }]);
}

/**
 * Checks a concurrency limit (a whole number of slots, at least 1).
 * @returns the limit
 * @throws ValidationError when it is not
 */
export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) reject('limit', `must be a whole number >= 1, got ${limit}`);
  return limit;
}

/**
 * Checks a lease length in milliseconds (a whole number, at least 1).
 * @returns the lease length
 * @throws ValidationError when it is not
 */
export function checkLeaseMs(leaseMs: number): number {
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1)
    reject('leaseMs', `must be a whole number >= 1, got ${leaseMs}`);
  return leaseMs;
}

/**
 * Checks an ask's business, run, run limit and weight.
 * @returns the ask
 * @throws ValidationError when a part is bad
 */
export function checkAsk(ask: SlotAsk): SlotAsk {
  if (typeof ask.business !== 'string' || ask.business.length === 0)
    reject('business', 'must be a non-empty string');
  if (typeof ask.run !== 'string' || ask.run.length === 0) reject('run', 'must be a non-empty string');
  checkLimit(ask.runLimit);
  if (ask.priority !== undefined && (!Number.isSafeInteger(ask.priority) || ask.priority < 1))
    reject('priority', `must be a whole number >= 1, got ${ask.priority}`);
  return ask;
}

/**
 * Checks a change of limits: each limit present is a whole number >= 1 (or null where allowed).
 * @returns the change
 * @throws ValidationError when a part is bad
 */
export function checkLimitChange(change: LimitChange): LimitChange {
  if (change.business && change.business.limit !== null) checkLimit(change.business.limit);
  if (change.group !== undefined && change.group !== null) checkLimit(change.group);
  if (change.run)
    checkAsk({
      business: change.run.business,
      run: change.run.id,
      runLimit: change.run.limit,
      priority: change.run.priority,
    });
  return change;
}

/**
 * Checks the rates of one dial start (at least one, each with a name and a rate > 0).
 * @returns the rates
 * @throws ValidationError when one is bad
 */
export function checkRates(rates: readonly DialRate[]): readonly DialRate[] {
  if (rates.length === 0) reject('rates', 'must name at least one rate');
  for (const rate of rates) {
    if (typeof rate.name !== 'string' || rate.name.length === 0)
      reject('rates.name', 'must be a non-empty string');
    checkPerSecond(rate.perSecond);
  }
  return rates;
}

/**
 * Checks a dial-start rate (a positive, finite number per second).
 * @returns the rate
 * @throws ValidationError when it is not
 */
export function checkPerSecond(perSecond: number): number {
  if (!Number.isFinite(perSecond) || perSecond <= 0)
    reject('perSecond', `must be a number > 0, got ${perSecond}`);
  return perSecond;
}

/**
 * The answer to one job's `acquire`, read from a one-job `acquireMany` (how both limiters
 * implement `acquire`).
 * @param result - the `acquireMany` result for exactly one job
 * @returns that job's status with the key's counters
 */
export function singleAcquire({ statuses, promoted, ...levels }: AcquireManyResult): AcquireResult {
  return { status: statuses[0] as AcquireStatus, promoted, ...levels };
}
