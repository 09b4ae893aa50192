/**
 * Checkers of the guarantees, measured from outside the library on the calls the dialers saw
 * (start and end times on one clock, `performance.now()`), across any number of dialers.
 */
import type { RecordedCall } from '../support/recording-dialer.js';

/**
 * The most calls of `businessId` live at one instant, over the calls of every dialer given. A
 * call not ended yet counts as live until now. An end and a start at the same instant do not
 * overlap (the slot was freed first).
 * @param calls - the calls of one or more dialers
 * @returns the peak number of live calls
 */
export function mostLiveAtOnce(calls: readonly RecordedCall[], businessId: string): number {
  const edges: [number, number][] = [];
  for (const c of calls) {
    if (c.businessId !== businessId) continue;
    edges.push([c.startedAt, 1]);
    edges.push([c.endedAt ?? Number.POSITIVE_INFINITY, -1]);
  }
  // Ends before starts at equal times.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0;
  let most = 0;
  for (const [, step] of edges) {
    live += step;
    most = Math.max(most, live);
  }
  return most;
}

/**
 * Dials per job attempt (`jobId#attempt`), over the calls of every dialer given.
 * @returns the attempts dialed more than once, with their count (empty when none was)
 */
export function attemptsDialedTwice(calls: readonly RecordedCall[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of calls)
    counts.set(`${c.jobId}#${c.attempt}`, (counts.get(`${c.jobId}#${c.attempt}`) ?? 0) + 1);
  for (const [attempt, n] of counts) if (n < 2) counts.delete(attempt);
  return counts;
}

/**
 * The most dial starts in any window of `windowMs` (half-open, `[t, t + windowMs)`).
 * @param starts - start times, in any order
 * @returns the peak count, and the window's first start
 */
export function mostStartsInWindow(
  starts: readonly number[],
  windowMs: number,
): { count: number; from: number | undefined } {
  const sorted = [...starts].sort((a, b) => a - b);
  let best = { count: 0, from: undefined as number | undefined };
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs) j++;
    if (j - i > best.count) best = { count: j - i, from: sorted[i] };
  }
  return best;
}
