import type { ExpressionBuilder, Kysely } from 'kysely';
import type { RunStatus } from '../../types.js';
import type { RunRecord } from '../job-store.js';
import { toRunRecord } from './kysely-row-mappers.js';
import type { RunRow } from './kysely-schema.js';

/** Runs that need an owner: the others are finished. */
const RUN_ACTIVE: readonly RunStatus[] = ['running', 'paused'];

/** Arguments of {@link leaseRuns}. */
export interface LeaseRunsRequest {
  ownerId: string;
  now: number;
  /** New expiry of the owner's leases. */
  until: number;
  /** Most runs to adopt in this call. */
  maxNew: number;
}

/**
 * Renews the run leases `ownerId` holds, adopts active runs whose owner's lease ran out (or that
 * never had one), and lists what it owns. Each write re-checks the orphan condition, so two
 * processes adopting at once cannot both take a run.
 * @param db - the host's database
 * @param runs - the runs table
 * @returns the active runs `ownerId` owns after the call
 */
// biome-ignore lint/suspicious/noExplicitAny: the store's tables are not in the host's schema type
export async function leaseRuns(db: Kysely<any>, runs: string, req: LeaseRunsRequest): Promise<RunRecord[]> {
  const { ownerId, now, until, maxNew } = req;
  await db
    .updateTable(runs)
    .set({ owner_expires_at: until })
    .where('owner_id', '=', ownerId)
    .where('status', 'in', [...RUN_ACTIVE])
    .execute();
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const orphaned = (eb: ExpressionBuilder<any, any>) =>
    eb.or([eb('owner_id', 'is', null), eb('owner_expires_at', '<', now)]);
  const candidates = db
    .selectFrom(runs)
    .select('id')
    .where('status', 'in', [...RUN_ACTIVE])
    .where(orphaned)
    .limit(maxNew);
  await db
    .updateTable(runs)
    .set({ owner_id: ownerId, owner_expires_at: until })
    .where('id', 'in', candidates)
    .where('status', 'in', [...RUN_ACTIVE])
    .where(orphaned)
    .execute();
  const rows = await db
    .selectFrom(runs)
    .selectAll()
    .where('owner_id', '=', ownerId)
    .where('status', 'in', [...RUN_ACTIVE])
    .execute();
  return rows.map((row) => toRunRecord(row as RunRow));
}

/**
 * Gives up every run lease of `ownerId`, so other processes adopt its runs on their next tick.
 * @param db - the host's database
 * @param runs - the runs table
 */
// biome-ignore lint/suspicious/noExplicitAny: see leaseRuns
export async function releaseRuns(db: Kysely<any>, runs: string, ownerId: string): Promise<void> {
  await db
    .updateTable(runs)
    .set({ owner_id: null, owner_expires_at: null })
    .where('owner_id', '=', ownerId)
    .execute();
}
