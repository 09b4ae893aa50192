import type { Checker, Violation } from '../outcome.js';

/**
 * Guarantee 2 (at most once): `dial()` is entered at most once per job attempt (job id + attempt)
 * and never twice with the same lock token. Whether a job whose call was placed may be dialed
 * again is its run's retry rules' say: see the retries checker.
 */
export const checkAtMostOnce: Checker = ({ trace }) => {
  const violations: Violation[] = [];
  const attempts = new Map<string, number>();
  const tokens = new Map<string, string>();
  for (const e of trace) {
    if (e.ev !== 'dial:start' || !e.jobId) continue;
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
