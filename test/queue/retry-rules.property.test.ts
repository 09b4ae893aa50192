import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryAt, retryOutcomeOf } from '../../src/queue/retry-rules.js';
import { RETRY_OUTCOMES, type RetryRule } from '../../src/types.js';

const rule = fc.record({
  maxAttempts: fc.integer({ min: 1, max: 20 }),
  delayMs: fc.integer({ min: 0, max: 3_600_000 }),
  backoff: fc.constantFrom<RetryRule['backoff']>('fixed', 'exponential', undefined),
  jitter: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

describe('retry rules (property)', () => {
  it('never retries past maxAttempts, never sooner than the jittered wait, never later than the full one', () => {
    fc.assert(
      fc.property(
        rule,
        fc.constantFrom(...RETRY_OUTCOMES),
        fc.integer({ min: 1, max: 25 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (r, outcome, attempt, random) => {
          const now = 1_000_000;
          const at = retryAt({ [outcome]: r }, outcome, attempt, now, random);
          if (attempt >= r.maxAttempts) {
            expect(at).toBeUndefined();
            return;
          }
          const full = Math.min(
            r.backoff === 'exponential' ? r.delayMs * 2 ** (attempt - 1) : r.delayMs,
            30 * 24 * 3_600_000,
          );
          expect(at).toBeDefined();
          expect(at! - now).toBeLessThanOrEqual(Math.round(full));
          expect(at! - now).toBeGreaterThanOrEqual(Math.floor(full * (1 - (r.jitter ?? 0))));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('retries only the outcome a rule names, and a machine only from its answeredBy', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RETRY_OUTCOMES), fc.constantFrom(...RETRY_OUTCOMES), (has, ended) => {
        const policy = { [has]: { maxAttempts: 3, delayMs: 10 } };
        const at = retryAt(policy, ended, 1, 0, 0.5);
        expect(at !== undefined).toBe(has === ended);
      }),
    );
    expect(retryOutcomeOf('completed', 'human')).toBeUndefined();
    expect(retryOutcomeOf('completed', undefined)).toBeUndefined();
    expect(retryOutcomeOf('completed', 'fax')).toBe('machine');
    expect(retryOutcomeOf('canceled', 'machine_start')).toBeUndefined();
    expect(retryOutcomeOf('no_answer')).toBe('no_answer');
  });
});
