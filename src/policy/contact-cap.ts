import type { ValidationIssue } from '../errors.js';

/**
 * At most `count` contacts of one number by one business within any `perMs`, over all the
 * business's runs, counted from the database: each claim of a job for a call counts (a claim put
 * back before its call was placed does not). A capped job waits, without a slot, until the
 * number may be called again. See docs/policy.md.
 */
export interface ContactCap {
  /** Most contacts of a number within `perMs` (1 to 1000). */
  count: number;
  /** The sliding period, in ms (1 s to 366 days): 86400000 is "per 24 hours". */
  perMs: number;
}

const MAX_COUNT = 1000;
const MIN_PER_MS = 1000;
const MAX_PER_MS = 366 * 86_400_000;

/**
 * Checks the queue's `contactCap`.
 * @param add - collects the issues
 */
export function checkContactCap(cap: unknown, add: (issue: ValidationIssue) => void): void {
  const c = (typeof cap === 'object' && cap !== null ? cap : {}) as Record<string, unknown>;
  const whole = (v: unknown, min: number, max: number) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
  if (typeof cap !== 'object' || cap === null || Array.isArray(cap)) {
    add({ field: 'contactCap', message: 'must be an object { count, perMs }' });
    return;
  }
  if (!whole(c.count, 1, MAX_COUNT))
    add({ field: 'contactCap.count', message: `must be a whole number from 1 to ${MAX_COUNT}` });
  if (!whole(c.perMs, MIN_PER_MS, MAX_PER_MS))
    add({
      field: 'contactCap.perMs',
      message: `must be a whole number of ms from ${MIN_PER_MS} to ${MAX_PER_MS}`,
    });
}
