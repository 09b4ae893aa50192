import { sql } from 'kysely';
import { ValidationError } from '../../errors.js';
import { LIVE_JOB_STATUSES } from '../../types.js';
import { toNumber } from './kysely-row-mappers.js';
import type { AnyDb, TableNames } from './kysely-schema.js';

/**
 * Checks a fencing token given to `KyselyStore.fenceSlots` (a whole number >= 0).
 * @returns the token
 * @throws ValidationError when it is not
 */
function checkFence(fence: number): number {
  if (!Number.isSafeInteger(fence) || fence < 0)
    throw new ValidationError([{ field: 'above', message: `must be a whole number >= 0, got ${fence}` }]);
  return fence;
}

/**
 * Raises a business's fencing token above the stored one and above `above`, and commits it, so
 * that a claim presenting an older token fails from now on.
 * @param above - a token the new one must exceed (a limiter state's), if any
 * @returns the new token
 */
export async function raiseFence(
  db: AnyDb,
  t: TableNames,
  businessId: string,
  above?: number,
): Promise<number> {
  const floor = above === undefined ? 0 : checkFence(above);
  const stored = sql.ref(`${t.fences}.fence`);
  // Raised (and committed) before the holders are read: a claim with the old token either
  // committed first, and is read after, or fails. The new token exceeds `above` too.
  const raised = await db
    .insertInto(t.fences)
    .values({ business_id: businessId, fence: floor + 1 })
    .onConflict((oc) =>
      oc.column('business_id').doUpdateSet({
        fence: sql`case when ${stored} >= ${floor} then ${stored} + 1 else cast(${floor + 1} as bigint) end`,
      }),
    )
    .returning('fence')
    .executeTakeFirstOrThrow();
  return toNumber(raised.fence as number | string);
}

/** A business's fencing token as stored (0 when none was ever raised). */
export async function readFence(db: AnyDb, t: TableNames, businessId: string): Promise<number> {
  const row = await db
    .selectFrom(t.fences)
    .select('fence')
    .where('business_id', '=', businessId)
    .executeTakeFirst();
  return row ? toNumber(row.fence as number | string) : 0;
}

/** The jobs of a business that hold calls (its slot holders). */
export async function liveJobIds(db: AnyDb, t: TableNames, businessId: string): Promise<string[]> {
  const rows = await db
    .selectFrom(t.jobs)
    .select('id')
    .where('business_id', '=', businessId)
    .where('status', 'in', [...LIVE_JOB_STATUSES])
    .execute();
  return rows.map((row) => row.id as string);
}
