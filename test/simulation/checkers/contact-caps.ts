import type { Checker, Violation } from '../outcome.js';

/**
 * Contact caps: no number is called more than `count` times by one business within any `perMs`,
 * over all runs. Each call the provider placed is counted at the instant of its claim (the store
 * logs each claim with its own instant): the cap counts claims, so counting at the dial instead
 * would make a dial delayed after its claim look early. Claims that placed no call are left out
 * (the engine counts some of them too: a cap that held them is still kept).
 */
export const checkContactCaps: Checker = ({ trace, jobs, workload }) => {
  const cap = workload.contactCap;
  if (!cap) return [];
  const violations: Violation[] = [];
  const numberOf = new Map(jobs.map((j) => [j.jobId, `${j.businessId} ${j.to}`]));
  const placed = new Set(trace.filter((e) => e.ev === 'call:start').map((e) => e.lockToken));
  const claims = new Map<string, { at: number; t: number; jobId: string }[]>();
  for (const e of trace) {
    if (e.ev !== 'claim' || !e.jobId || !placed.has(e.lockToken)) continue;
    const key = numberOf.get(e.jobId) ?? '';
    const list = claims.get(key) ?? [];
    list.push({ at: Number(e.note), t: e.t, jobId: e.jobId });
    claims.set(key, list);
  }
  for (const [number, list] of claims) {
    list.sort((a, b) => a.at - b.at);
    for (let i = cap.count; i < list.length; i++) {
      const first = list[i - cap.count]!;
      const claim = list[i]!;
      if (claim.at - first.at < cap.perMs)
        violations.push({
          checker: 'contact-caps',
          t: claim.t,
          message: `${number} called ${cap.count + 1} times within ${claim.at - first.at} ms (cap ${cap.count} per ${cap.perMs} ms): job ${claim.jobId}`,
        });
    }
  }
  return violations;
};
