import { LimitTimeline } from '../limit-timeline.js';
import type { Checker, Violation } from '../outcome.js';

/**
 * Guarantee 1 (concurrency): at no instant does a run have more calls live than its concurrency,
 * a business more than its limit, nor an account group more than its limit. A call is live at the
 * provider from `dial()` being entered until the call ended (or the dial was rejected, or never
 * sent): an interval inside the one the engine holds the slot for, so a count above a limit is a
 * real breach, never a false alarm.
 *
 * Limits change live: each dial start is judged against the highest limit possibly in force
 * between its grant (the limiter call that granted it began) and the start, since a lowered limit
 * lets granted calls go on. A group is judged by its businesses that were members from the grant
 * to the start (a business that joined or left meanwhile is left out of the count).
 */
export const checkConcurrency: Checker = ({ trace, workload }) => {
  const violations: Violation[] = [];
  const limits = new LimitTimeline(trace, workload);
  const live = new Map<string, Set<string>>();
  const grantedSince = new Map<string, number>();
  const reported = new Set<string>();
  const liveOf = (key: string) => {
    const set = live.get(key) ?? new Set<string>();
    live.set(key, set);
    return set;
  };
  const report = (key: string, t: number, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    violations.push({ checker: 'concurrency', t, message });
  };
  for (const e of trace) {
    if (e.ev === 'grant' && e.jobId) grantedSince.set(e.jobId, Number(e.note));
    if (!e.jobId || !e.businessId || !e.runId) continue;
    const dial = `${e.jobId}#${e.attempt}#${e.lockToken}`;
    if (e.ev === 'dial:start') {
      const since = grantedSince.get(e.jobId) ?? 0;
      const r = liveOf(`run:${e.runId}`).add(dial);
      const b = liveOf(`business:${e.businessId}`).add(dial);
      const runLimit = limits.runLimit(e.runId, since, e.t);
      const businessLimit = limits.businessLimit(e.businessId, since, e.t);
      if (r.size > runLimit)
        report(e.runId, e.t, `run ${e.runId} has ${r.size} calls live, concurrency ${runLimit}`);
      if (b.size > businessLimit)
        report(
          e.businessId,
          e.t,
          `business ${e.businessId} has ${b.size} calls live, limit ${businessLimit} (${[...b].join(', ')})`,
        );
      const group = limits.steadyGroupOf(e.businessId, since, e.t);
      const groupLimit = group ? limits.groupLimit(group, since, e.t) : null;
      if (group && groupLimit !== null) {
        // Counted: the businesses that were members all along (one that joined or left meanwhile
        // may rightly be counted or not): fewer calls than the group holds, never more.
        const members = workload.businesses.filter(
          (x) => limits.steadyGroupOf(x.businessId, since, e.t) === group,
        );
        const n = members.reduce((sum, x) => sum + liveOf(`business:${x.businessId}`).size, 0);
        if (n > groupLimit)
          report(`group:${group}`, e.t, `group ${group} has ${n} calls live, limit ${groupLimit}`);
      }
    } else if (e.ev === 'call:end' || e.ev === 'dial:rejected' || e.ev === 'dial:abandoned') {
      liveOf(`run:${e.runId}`).delete(dial);
      liveOf(`business:${e.businessId}`).delete(dial);
    }
  }
  return violations;
};
