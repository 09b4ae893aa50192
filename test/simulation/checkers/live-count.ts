import { LimitTimeline } from '../limit-timeline.js';
import type { Checker, Violation } from '../outcome.js';

/**
 * Guarantee 1 as a reader sees it (SPEC 2: `getRun().active`, read at any moment, never exceeds the
 * limit): the jobs the database shows holding calls (`dialing`, `ringing`, `in_progress`) per
 * business, sampled once a virtual second, never exceed its limit. A limit lowered live lets
 * calls granted before go on (claimed, a dial turn's wait after), so a sample is judged against the
 * highest limit the business may have had so far.
 */
export const checkLiveCount: Checker = ({ liveSamples, workload, trace }) => {
  const violations: Violation[] = [];
  const limits = new LimitTimeline(trace, workload);
  const reported = new Set<string>();
  for (const { t, businessId, live } of liveSamples) {
    const limit = limits.businessLimit(businessId, 0, t);
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
