import { sql } from 'kysely';
import { ValidationError } from '../../errors.js';
import { groupOfScope } from '../../limiter/limiter-scope.js';
import type { RunLimit, SlotHolder, SlotHolders } from '../../limiter/slot-limiter.js';
import { LIVE_JOB_STATUSES } from '../../types.js';
import { toNumber } from './kysely-row-mappers.js';
import type { AnyDb, TableNames } from './kysely-schema.js';

/** Most ids bound in one `in (...)` list: SQLite caps the parameters of one statement. */
const ID_SLICE = 500;

/** Attempts of one {@link raiseScopeFence}: a retry finds the business row that made it retry. */
const FENCE_ATTEMPTS = 3;

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

/** `ids` in slices of at most {@link ID_SLICE}. */
function slices<T>(ids: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < ids.length; i += ID_SLICE) out.push(ids.slice(i, i + ID_SLICE));
  return out;
}

/**
 * Raises a business's fencing token by one (from 0 when it has none), so that a claim presenting
 * an older token fails once the caller's transaction commits. On PostgreSQL this locks the
 * business's fence row until then.
 * @returns the new token
 */
export async function raiseFence(db: AnyDb, t: TableNames, businessId: string): Promise<number> {
  const raised = await db
    .insertInto(t.fences)
    .values({ business_id: businessId, fence: 1 })
    .onConflict((oc) =>
      oc.column('business_id').doUpdateSet({ fence: sql`${sql.ref(`${t.fences}.fence`)} + 1` }),
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

/** A scope's members as read in a fence's transaction. */
interface ScopeMembers {
  /** The member business ids, in code-unit order. */
  members: string[];
  /** A business's own scope whose business had no row: nothing was locked for it. */
  rowless: boolean;
}

/** The scope's token has been raised for these members (see {@link raiseScopeFence}). */
export interface ScopeFence {
  /** The new token. */
  fence: number;
  /** The members it was written for, in code-unit order. */
  members: string[];
}

/** A business of a business's own scope joined a group while the scope was fenced: try again. */
class MembershipChanged extends Error {}

/**
 * The members of a scope: a group's businesses, or a business that belongs to no group (one
 * without a businesses row belongs to none). On PostgreSQL the rows read are locked, so that a
 * change of group (`putBusinessLimits`, which locks the row first too) waits for the fence, or
 * the fence for it.
 */
async function readMembers(db: AnyDb, t: TableNames, key: string, lock: boolean): Promise<ScopeMembers> {
  const group = groupOfScope(key);
  if (group !== undefined) {
    let query = db.selectFrom(t.businesses).select('business_id').where('group_name', '=', group);
    if (lock) query = query.orderBy('business_id').forUpdate();
    const rows = await query.execute();
    return { members: rows.map((row) => row.business_id as string).sort(), rowless: false };
  }
  let query = db.selectFrom(t.businesses).select('group_name').where('business_id', '=', key);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (row && row.group_name !== null) return { members: [], rowless: false };
  return { members: [key], rowless: row === undefined };
}

/** One attempt of {@link raiseScopeFence}, in a transaction. */
async function fenceMembers(
  trx: AnyDb,
  t: TableNames,
  postgres: boolean,
  key: string,
  floor: number,
): Promise<ScopeFence> {
  const { members, rowless } = await readMembers(trx, t, key, postgres);
  // Above every fence in the table, not only the members': a scope's state in the limiter was
  // made under some earlier fence of the table (of members it had then, possibly none now), and
  // the new one must be newer than it, or its rebuild would be refused.
  const top = await trx
    .selectFrom(t.fences)
    .select((eb) => eb.fn.max('fence').as('top'))
    .executeTakeFirst();
  const floorAll = Math.max(floor, top?.top == null ? 0 : toNumber(top.top as number | string));
  if (members.length === 0) return { fence: floorAll + 1, members };
  // Every member's fence row exists, and is locked (PostgreSQL), before the highest is read: no
  // raise of a member elsewhere can slip between the read and the write and be undone by it.
  let highest = floorAll;
  for (const ids of slices(members)) {
    await trx
      .insertInto(t.fences)
      .values(ids.map((id) => ({ business_id: id, fence: 0 })))
      .onConflict((oc) => oc.column('business_id').doNothing())
      .execute();
    let query = trx.selectFrom(t.fences).select('fence').where('business_id', 'in', ids);
    if (postgres) query = query.orderBy('business_id').forUpdate();
    for (const row of await query.execute())
      highest = Math.max(highest, toNumber(row.fence as number | string));
  }
  // A business without a row had nothing to lock: if it joined a group before its fence row was
  // taken, its grants belong to the group's scope now, and raising its token here would fail them.
  if (rowless && (await readMembers(trx, t, key, false)).members.length === 0) throw new MembershipChanged();
  const fence = highest + 1;
  for (const ids of slices(members))
    await trx.updateTable(t.fences).set({ fence }).where('business_id', 'in', ids).execute();
  return { fence, members };
}

/**
 * Raises a limiter scope's fencing token for every member of the scope and commits it, so that
 * a claim of a member's job presenting an older token fails from now on: the new token exceeds
 * `above` and every member's stored one, and is written for each of them. A scope without members
 * gets `above + 1`, and nothing is written.
 * @param postgres - lock the members' rows (SQLite has one writer at a time already)
 * @param key - the limiter scope
 * @param above - a token the new one must exceed (a limiter state's), if any
 * @returns the new token and the members it was written for
 * @throws ValidationError when `above` is not a whole number >= 0
 */
export async function raiseScopeFence(
  db: AnyDb,
  t: TableNames,
  postgres: boolean,
  key: string,
  above?: number,
): Promise<ScopeFence> {
  const floor = above === undefined ? 0 : checkFence(above);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute((trx) => fenceMembers(trx, t, postgres, key, floor));
    } catch (error) {
      if (!(error instanceof MembershipChanged)) throw error;
      if (attempt >= FENCE_ATTEMPTS)
        throw new Error(`business ${key} kept changing scope while it was fenced`);
    }
  }
}

/**
 * Reads a scope fenced by {@link raiseScopeFence}, after its commit (a claim with the old token
 * either committed first, and is read here, or fails): the members' limits, the jobs of the
 * members that hold calls, the limits and weights of their runs and of the members' live runs,
 * and the group's limit.
 * @param key - the limiter scope
 * @param fenced - what the fence wrote
 */
export async function readFencedScope(
  db: AnyDb,
  t: TableNames,
  key: string,
  fenced: ScopeFence,
): Promise<SlotHolders> {
  const holders: SlotHolder[] = [];
  const limits = new Map<string, number | null>();
  for (const ids of slices(fenced.members)) {
    const jobs = await db
      .selectFrom(t.jobs)
      .select(['id', 'business_id', 'run_id'])
      .where('business_id', 'in', ids)
      .where('status', 'in', [...LIVE_JOB_STATUSES])
      .execute();
    for (const job of jobs) holders.push({ jobId: job.id, business: job.business_id, run: job.run_id });
    const rows = await db
      .selectFrom(t.businesses)
      .select(['business_id', 'concurrency'])
      .where('business_id', 'in', ids)
      .execute();
    for (const row of rows)
      limits.set(row.business_id, row.concurrency === null ? null : toNumber(row.concurrency));
  }
  holders.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  // The runs of the holders, and every live run of the members: a feeder's first ask after the
  // rebuild must not bring back a concurrency changed since its last read of the run.
  const runIds = new Set(holders.map((holder) => holder.run));
  for (const ids of slices(fenced.members)) {
    const rows = await db
      .selectFrom(t.runs)
      .select('id')
      .where('business_id', 'in', ids)
      .where('status', 'in', ['running', 'paused'])
      .execute();
    for (const row of rows) runIds.add(row.id);
  }
  const runs: RunLimit[] = [];
  for (const ids of slices([...runIds].sort())) {
    const rows = await db
      .selectFrom(t.runs)
      .select(['id', 'business_id', 'concurrency', 'priority'])
      .where('id', 'in', ids)
      .execute();
    for (const row of rows)
      runs.push({
        run: row.id,
        business: row.business_id,
        limit: toNumber(row.concurrency),
        priority: toNumber(row.priority),
      });
  }
  runs.sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0));
  const group = groupOfScope(key);
  const groupRow =
    group === undefined
      ? undefined
      : await db
          .selectFrom(t.groups)
          .select('concurrency')
          .where('group_name', '=', group)
          .executeTakeFirst();
  return {
    fence: fenced.fence,
    holders,
    members: fenced.members.map((business) => ({ business, limit: limits.get(business) ?? null })),
    runs,
    groupLimit: groupRow?.concurrency == null ? null : toNumber(groupRow.concurrency),
  };
}
