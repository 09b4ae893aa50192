import { ValidationError } from '../errors.js';
import type { AcquireManyResult, AcquireResult, AcquireStatus } from './slot-limiter.js';

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
export function singleAcquire({ statuses, ...counters }: AcquireManyResult): AcquireResult {
  return { status: statuses[0] as AcquireStatus, ...counters };
}
