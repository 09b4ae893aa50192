import type { Checker, Violation } from '../outcome.js';

/**
 * Guarantee 1 as a reader sees it (SPEC 2: `getRun().active`, read at any moment, never exceeds the
 * limit): the jobs the database shows holding calls (`dialing`, `ringing`, `in_progress`) per
 * business, sampled once a virtual second, never exceed its limit.
 */
export const checkLiveCount: Checker = ({ liveSamples, workload }) => {
  const violations: Violation[] = [];
  const limitOf = new Map(workload.businesses.map((b) => [b.businessId, b.concurrency]));
  const reported = new Set<string>();
  for (const { t, businessId, live } of liveSamples) {
    const limit = limitOf.get(businessId) ?? 0;
    if (live > limit && !reported.has(businessId)) {
      reported.add(businessId);
      violations.push({
        checker: 'live-count',
        t,
        message: `the database shows ${live} live jobs of business ${businessId}, limit ${limit}`,
      });
    }
  }
  return violations;
};
