import type { Checker, Violation } from '../outcome.js';

/**
 * Guarantee 2 (at most once): `dial()` is entered at most once per job attempt (job id + attempt),
 * never twice with the same lock token, and a job whose call was placed is not dialed again (the
 * simulated runs set no retry-on-outcome policy: only a dial that placed no call may be retried).
 */
export const checkAtMostOnce: Checker = ({ trace }) => {
  const violations: Violation[] = [];
  const attempts = new Map<string, number>();
  const tokens = new Map<string, string>();
  const placed = new Map<string, string>();
  for (const e of trace) {
    if (e.ev === 'call:start' && e.jobId && !placed.has(e.jobId))
      placed.set(e.jobId, `attempt ${e.attempt} placed ${e.callId}`);
    if (e.ev !== 'dial:start' || !e.jobId) continue;
    const earlier = placed.get(e.jobId);
    if (earlier !== undefined) {
      violations.push({
        checker: 'at-most-once',
        t: e.t,
        message: `job ${e.jobId} dialed again (attempt ${e.attempt}, line ${e.seq}) though ${earlier}`,
      });
    }
    const attempt = `${e.jobId}#${e.attempt}`;
    const seenAt = attempts.get(attempt);
    if (seenAt !== undefined) {
      violations.push({
        checker: 'at-most-once',
        t: e.t,
        message: `job ${e.jobId} attempt ${e.attempt} dialed again (first at line ${seenAt}, again at line ${e.seq})`,
      });
    }
    attempts.set(attempt, e.seq);
    const token = e.lockToken ?? '';
    const tokenOf = tokens.get(token);
    if (tokenOf !== undefined) {
      violations.push({
        checker: 'at-most-once',
        t: e.t,
        message: `lock token ${token} dialed twice (${tokenOf}, then job ${e.jobId} attempt ${e.attempt})`,
      });
    }
    tokens.set(token, `job ${e.jobId} attempt ${e.attempt}`);
  }
  return violations;
};
