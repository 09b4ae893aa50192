import type { Checker, Violation } from '../outcome.js';

/**
 * Guarantee 1 (concurrency): at no instant does a business have more calls live than its limit,
 * nor a run more than its concurrency. A call is live at the provider from `dial()` being entered
 * until the call ended (or the dial was rejected, or never sent): an interval inside the one the
 * engine holds the slot for, so a count above the limit is a real breach, never a false alarm.
 */
export const checkConcurrency: Checker = ({ trace, workload }) => {
  const violations: Violation[] = [];
  const limitOf = new Map(workload.businesses.map((b) => [b.businessId, b.concurrency]));
  const runLimit = new Map(workload.runs.map((r) => [r.runId, r.concurrency]));
  const liveByBusiness = new Map<string, Set<string>>();
  const liveByRun = new Map<string, Set<string>>();
  const reported = new Set<string>();
  const live = (map: Map<string, Set<string>>, key: string) => {
    const set = map.get(key) ?? new Set<string>();
    map.set(key, set);
    return set;
  };
  for (const e of trace) {
    if (!e.jobId || !e.businessId || !e.runId) continue;
    const dial = `${e.jobId}#${e.attempt}#${e.lockToken}`;
    if (e.ev === 'dial:start') {
      const b = live(liveByBusiness, e.businessId).add(dial);
      const r = live(liveByRun, e.runId).add(dial);
      const bLimit = limitOf.get(e.businessId) ?? 0;
      const rLimit = runLimit.get(e.runId) ?? 0;
      if (b.size > bLimit && !reported.has(e.businessId)) {
        reported.add(e.businessId);
        violations.push({
          checker: 'concurrency',
          t: e.t,
          message: `business ${e.businessId} has ${b.size} calls live, limit ${bLimit} (${[...b].join(', ')})`,
        });
      } else if (r.size > rLimit && !reported.has(e.runId)) {
        reported.add(e.runId);
        violations.push({
          checker: 'concurrency',
          t: e.t,
          message: `run ${e.runId} has ${r.size} calls live, concurrency ${rLimit}`,
        });
      }
    } else if (e.ev === 'call:end' || e.ev === 'dial:rejected' || e.ev === 'dial:abandoned') {
      live(liveByBusiness, e.businessId).delete(dial);
      live(liveByRun, e.runId).delete(dial);
    }
  }
  return violations;
};
