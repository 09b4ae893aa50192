import type { Random } from './random.js';
import type { Workload } from './workload.js';

/** The account group the simulation's businesses may share. */
export const SIM_GROUP = 'g1';

/** One limit the driver sets, at `at` virtual ms (a run's change: `at` ms after the run started). */
export type LimitChangePlan =
  | { at: number; kind: 'business'; id: string; concurrency: number; group: string | null }
  | { at: number; kind: 'group'; id: string; concurrency: number }
  | { at: number; kind: 'run'; id: string; concurrency: number };

/**
 * Gives half the seeds business limits and live changes: each run its own concurrency (1 to 4)
 * and priority (1 to 3); most businesses a limit of their own at the start (the others keep the
 * highest of their runs'), some of them in one account group with a limit of 1 to 5; then one to
 * four changes in the first 20 s: a business's limit, a business joining or leaving the group,
 * the group's limit, a run's concurrency. From a stream of its own (see `planRetries`).
 * @param rng - the limits stream
 * @param workload - changed in place
 */
export function planLimits(rng: Random, workload: Workload): void {
  if (!rng.chance(0.5)) return;
  for (const run of workload.runs) {
    run.concurrency = rng.int(1, 4);
    run.priority = rng.int(1, 3);
  }
  const changes: LimitChangePlan[] = [];
  const hasGroup = rng.chance(0.6);
  if (hasGroup) changes.push({ at: 0, kind: 'group', id: SIM_GROUP, concurrency: rng.int(1, 5) });
  const records = new Map<string, { concurrency: number; group: string | null }>();
  for (const { businessId } of workload.businesses) {
    if (!rng.chance(0.7)) continue;
    const record = { concurrency: rng.int(1, 4), group: hasGroup && rng.chance(0.6) ? SIM_GROUP : null };
    records.set(businessId, record);
    changes.push({ at: 0, kind: 'business', id: businessId, ...record });
  }
  for (let n = rng.int(1, 4); n > 0; n -= 1) {
    const at = rng.int(500, 20_000);
    const what = rng.int(0, 2);
    if (what === 0) {
      const { businessId } = rng.pick(workload.businesses);
      const before = records.get(businessId) ?? { concurrency: rng.int(1, 4), group: null };
      const moves = hasGroup && rng.chance(0.5);
      const group = moves ? (before.group === null ? SIM_GROUP : null) : before.group;
      const record = { concurrency: moves ? before.concurrency : rng.int(1, 4), group };
      records.set(businessId, record);
      changes.push({ at, kind: 'business', id: businessId, ...record });
    } else if (what === 1 && hasGroup) {
      changes.push({ at, kind: 'group', id: SIM_GROUP, concurrency: rng.int(1, 5) });
    } else {
      const run = rng.pick(workload.runs);
      changes.push({ at: rng.int(0, 15_000), kind: 'run', id: run.runId, concurrency: rng.int(1, 4) });
    }
  }
  // Changes of one business are made in plan order: one call at a time, never two at once.
  changes.sort((a, b) => a.at - b.at);
  workload.limitChanges = changes;
  if (hasGroup) workload.groups = [SIM_GROUP];
}
