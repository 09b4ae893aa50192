import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTEMPT_PHASES, type Attempt, type AttemptPhase, Attempts } from '../../src/queue/attempts.js';

const JOBS = ['j1', 'j2', 'j3'];
const order = (phase: AttemptPhase) => ATTEMPT_PHASES.indexOf(phase);

type Step =
  | { op: 'grant' | 'finish' | 'lost' | 'hold'; job: string }
  | { op: 'advance'; job: string; phase: AttemptPhase };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constantFrom('grant', 'finish', 'lost', 'hold'), job: fc.constantFrom(...JOBS) }),
  fc.record({
    op: fc.constant('advance' as const),
    job: fc.constantFrom(...JOBS),
    phase: fc.constantFrom(...ATTEMPT_PHASES),
  }),
) as fc.Arbitrary<Step>;

describe('Attempts', () => {
  it('only moves attempts forward, renews only what is held before its end, forgets only what is done', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const book = new Attempts();
        /** Per job: how to finish the work of its attempts, oldest first. */
        const granted = new Map<string, (() => void)[]>();
        const seen = new Map<Attempt, number>();
        for (const s of steps) {
          if (s.op === 'grant') {
            let finish!: () => void;
            const done = new Promise<void>((resolve) => {
              finish = resolve;
            });
            if (book.grant('b', s.job, () => done))
              granted.set(s.job, [...(granted.get(s.job) ?? []), finish]);
          } else if (s.op === 'finish') {
            granted.get(s.job)?.shift()?.();
            await new Promise((resolve) => setImmediate(resolve));
          } else if (s.op === 'lost') book.lost(s.job);
          else if (s.op === 'hold') book.hold('b', s.job);
          else if (s.op === 'advance') book.advance(book.get(s.job), s.phase);

          const held = book.held();
          for (const job of JOBS) {
            const attempt = book.get(job);
            if (!attempt) continue;
            const previous = seen.get(attempt);
            if (previous !== undefined) expect(order(attempt.phase)).toBeGreaterThanOrEqual(previous);
            seen.set(attempt, order(attempt.phase));
            expect(held.has(job)).toBe(attempt.held);
            if (attempt.held) expect(order(attempt.phase)).toBeLessThan(order('ending'));
            expect(book.isClaiming(job)).toBe(attempt.phase === 'granted' || attempt.phase === 'claiming');
            expect(book.isDialing(job)).toBe(attempt.phase === 'dialing');
          }
        }
        // Once every attempt's work is done, nothing waits for a claim or a drain.
        for (const finishers of granted.values()) for (const finish of finishers) finish();
        await book.drain();
        await book.settleClaims('run');
      }),
      { numRuns: 300 },
    );
  });

  it('lets a new grant replace an attempt that is ending, and the old one never moves the new', async () => {
    const book = new Attempts();
    let old: Attempt | undefined;
    let release!: () => void;
    book.grant('b', 'j', async (attempt) => {
      old = attempt;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    expect(book.grant('b', 'j', async () => {})).toBe(false);
    book.advance(old, 'ending');
    expect(book.grant('b', 'j', () => new Promise(() => {}))).toBe(true);
    book.advance(old, 'ended');
    expect(book.get('j')).toMatchObject({ phase: 'granted', held: true });
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(book.get('j')).toMatchObject({ phase: 'granted', held: true });
  });

  it('lets a new grant replace an attempt whose call is placed (another process wrote its end and put the job back)', async () => {
    const book = new Attempts();
    let old: Attempt | undefined;
    book.grant('b', 'j', async (attempt) => {
      old = attempt;
    });
    for (const phase of ['claimed', 'dialing'] as const) {
      book.advance(old, phase);
      expect(book.grant('b', 'j', async () => {})).toBe(false);
    }
    book.advance(old, 'placed');
    // Before the fix (seed 51 of issue 12) this grant was refused and the slot held for nobody.
    expect(book.grant('b', 'j', () => new Promise(() => {}))).toBe(true);
    book.advance(old, 'ended');
    expect(book.get('j')).toMatchObject({ phase: 'granted', held: true });
  });
});
