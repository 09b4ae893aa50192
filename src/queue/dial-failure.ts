import { DialError } from '../errors.js';
import type { ClaimedJob } from '../store/job-store.js';
import type { RetryPolicy } from './queue-context.js';

/** What to do with a job whose `dial()` threw. */
export interface DialFailure {
  /** The failure as a `DialError` (anything else a dialer throws counts as transient). */
  error: DialError;
  /** The code recorded on the job: the provider's, or `DIAL_ERROR` when the dialer gave none. */
  code: string;
  /** When a transient failure with attempts left is to be dialed again (epoch ms); absent otherwise. */
  retryAt?: number;
}

/**
 * Classifies a dial failure and, for a transient one with attempts left, picks its retry time:
 * exponential backoff with full jitter, never sooner than the provider's `Retry-After`.
 * @param err - what `dial()` threw
 * @param job - the claimed job (its attempt count)
 * @param retry - the queue's retry policy
 * @param now - current time, epoch ms
 * @returns the classified failure
 */
export function classifyDialFailure(
  err: unknown,
  job: ClaimedJob,
  retry: RetryPolicy,
  now: number,
): DialFailure {
  const error =
    err instanceof DialError
      ? err
      : new DialError('transient', err instanceof Error ? err.message : String(err), { cause: err });
  const code = error.providerCode ?? 'DIAL_ERROR';
  if (error.kind !== 'transient' || job.attempt >= retry.maxAttempts) return { error, code };
  const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (job.attempt - 1));
  const delay = Math.max(error.retryAfterMs ?? 0, Math.round(Math.random() * cap));
  return { error, code, retryAt: now + delay };
}
