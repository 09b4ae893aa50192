import fc from 'fast-check';
import { groupScope } from '../../src/limiter/limiter-scope.js';
import type { LimitChange } from '../../src/limiter/slot-limiter.js';

// The steps of the model-based property (slot-limiter.property.test.ts): a group's scope with
// three businesses and two businesses' own scopes, each business with two runs of four jobs.

export const GROUP = groupScope('g');
/** Each scope's members and their limits in the database (null: the highest run limit applies). */
export const MEMBERS: Record<string, Record<string, number | null>> = {
  [GROUP]: { ga: null, gb: 2, gc: null },
  b4: { b4: null },
  b5: { b5: 3 },
};
const BUSINESSES = Object.values(MEMBERS).flatMap((members) => Object.keys(members));
export const scopeOf = (business: string) =>
  Object.keys(MEMBERS).find((scope) => business in (MEMBERS[scope] as object)) as string;
/** A scope the business is not a member of (the next one). */
export const strayScope = (business: string) => {
  const scopes = Object.keys(MEMBERS);
  return scopes[(scopes.indexOf(scopeOf(business)) + 1) % scopes.length] as string;
};
export const HOLDER_LEASE_MS = 600_000;

export type Op =
  | {
      op: 'acquire';
      business: string;
      run: number;
      jobs: number[];
      runLimit: number;
      priority: number;
      leaseMs: number;
    }
  | { op: 'stray'; business: string; leaseMs: number }
  | { op: 'release' | 'pass' | 'passedFrom'; business: string; run: number; job: number }
  | { op: 'remove'; business: string; jobs: Array<[number, number]>; retire: number | null }
  | { op: 'renew'; business: string; jobs: Array<[number, number]>; leaseMs: number }
  | { op: 'reclaim'; business: string; leaseMs: number }
  | { op: 'limit'; business: string; limit: number | null }
  | { op: 'group'; limit: number | null }
  | { op: 'runLimit'; business: string; run: number; limit: number; priority: number }
  | { op: 'rebuild'; business: string; keep: boolean[]; duplicate: boolean; leaseMs: number }
  | { op: 'tick'; ms: number };

export const runName = (business: string, run: number) => `${business}-r${run}`;
export const jobName = (business: string, run: number, job: number) => `${runName(business, run)}.${job}`;

const business = fc.constantFrom(...BUSINESSES);
const run = fc.integer({ min: 0, max: 1 });
const job = fc.integer({ min: 0, max: 3 });
const anyJobs = fc.uniqueArray(fc.tuple(run, job), { maxLength: 3, selector: ([r, j]) => `${r}.${j}` });
const limit = fc.integer({ min: 1, max: 3 });
const maybeLimit = fc.option(fc.integer({ min: 1, max: 4 }), { nil: null });

/** Steps; `timed` adds clock ticks and short leases (only where the test controls the clock). */
export function steps(timed: boolean): fc.Arbitrary<Op[]> {
  const leaseMs = timed ? fc.integer({ min: 1, max: 100 }) : fc.constant(600_000);
  const ops: Array<fc.Arbitrary<Op>> = [
    fc.record({
      op: fc.constant('acquire' as const),
      business,
      run,
      jobs: fc.uniqueArray(job, { minLength: 1, maxLength: 3 }),
      runLimit: limit,
      priority: fc.integer({ min: 1, max: 3 }),
      leaseMs,
    }),
    fc.record({ op: fc.constantFrom('release' as const, 'pass' as const), business, run, job }),
    fc.record({ op: fc.constantFrom('release' as const, 'passedFrom' as const), business, run, job }),
    fc.record({
      op: fc.constant('remove' as const),
      business,
      jobs: anyJobs,
      retire: fc.option(run, { nil: null }),
    }),
    fc.record({ op: fc.constant('renew' as const), business, jobs: anyJobs, leaseMs }),
    fc.record({ op: fc.constant('reclaim' as const), business, leaseMs }),
    fc.record({ op: fc.constant('limit' as const), business, limit: maybeLimit }),
    fc.record({ op: fc.constant('group' as const), limit: maybeLimit }),
    fc.record({
      op: fc.constant('rebuild' as const),
      business,
      keep: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
      duplicate: fc.boolean(),
      leaseMs,
    }),
    fc.record({
      op: fc.constant('runLimit' as const),
      business,
      run,
      limit,
      priority: fc.integer({ min: 1, max: 3 }),
    }),
  ];
  const weighted: Array<fc.WeightedArbitrary<Op>> = ops.map((arbitrary, i) => ({
    arbitrary,
    weight: i === 0 ? 6 : i === 1 ? 4 : 1,
  }));
  weighted.push({
    arbitrary: fc.record({ op: fc.constant('stray' as const), business, leaseMs }),
    weight: 1,
  });
  if (timed)
    weighted.push({
      arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 120 }) }),
      weight: 2,
    });
  return fc.array(fc.oneof(...weighted), { maxLength: 60, size: 'max' });
}

/** The jobs of `business` named by run and number. */
export function jobsOf(business: string, jobs: Array<[number, number]>): string[] {
  return jobs.map(([r, j]) => jobName(business, r, j));
}

/** The change of limits a limit step makes. */
export function change(op: Extract<Op, { op: 'limit' | 'group' | 'runLimit' }>): LimitChange {
  if (op.op === 'limit') return { business: { id: op.business, limit: op.limit } };
  if (op.op === 'group') return { group: op.limit };
  return {
    run: { id: runName(op.business, op.run), business: op.business, limit: op.limit, priority: op.priority },
  };
}
