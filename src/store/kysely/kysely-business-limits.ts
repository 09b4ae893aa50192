import { ValidationError, type ValidationIssue } from '../../errors.js';
import { checkScopeName } from '../../limiter/limiter-scope.js';
import type {
  BusinessLimitsRecord,
  BusinessRecord,
  GroupLimitsRecord,
  GroupRecord,
  PutBusinessLimitsResult,
  RunLimitsChange,
  RunRecord,
} from '../job-store.js';
import { toBusinessRecord, toGroupRecord, toRunRecord } from './kysely-row-mappers.js';
import type { AnyDb, BusinessRow, GroupRow, RunRow, TableNames } from './kysely-schema.js';
import { raiseFence } from './kysely-slot-fences.js';

/** A whole number >= 1, or (when `nullable`) null; the issue otherwise. */
function wholeIssue(field: string, value: unknown, nullable: boolean): ValidationIssue[] {
  if (nullable && value === null) return [];
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return [];
  return [{ field, message: `must be a whole number >= 1${nullable ? ' or null' : ''}` }];
}

/** A positive finite number, or null; the issue otherwise. */
function rateIssue(value: unknown): ValidationIssue[] {
  if (value === null || (typeof value === 'number' && Number.isFinite(value) && value > 0)) return [];
  return [{ field: 'dialsPerSecond', message: 'must be a positive number or null' }];
}

/** Throws the issues found, if any. */
function reject(issues: ValidationIssue[]): void {
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Checks the limits of a business or group. @throws ValidationError naming each bad one */
function checkLimits(limits: GroupLimitsRecord): void {
  reject([...wholeIssue('concurrency', limits.concurrency, true), ...rateIssue(limits.dialsPerSecond)]);
}

/** A business's record, if one was written. */
export async function getBusiness(
  db: AnyDb,
  t: TableNames,
  businessId: string,
): Promise<BusinessRecord | undefined> {
  const row = await db
    .selectFrom(t.businesses)
    .selectAll()
    .where('business_id', '=', businessId)
    .executeTakeFirst();
  return row ? toBusinessRecord(row as BusinessRow) : undefined;
}

/**
 * Writes a business's limits and group in one transaction, its pause kept; a change of group
 * raises the business's fencing token in the same transaction, so that a slot granted in the
 * scope it leaves cannot be claimed once the change is seen. On PostgreSQL the business's row is
 * locked first (as `fenceSlots` locks the rows of a scope's members): a change of group and a
 * fence of either scope take turns.
 * @param postgres - lock the business's row (SQLite has one writer at a time already)
 * @returns the group before the change (null: none, or no row)
 * @throws ValidationError when a limit or the group's name is not valid
 */
export async function putBusinessLimits(
  db: AnyDb,
  t: TableNames,
  postgres: boolean,
  businessId: string,
  limits: BusinessLimitsRecord,
  now: number,
): Promise<PutBusinessLimitsResult> {
  checkLimits(limits);
  if (limits.group !== null) checkScopeName('group', limits.group);
  return db.transaction().execute(async (trx) => {
    // A row first (without limits or group, as a business without one has), then it is locked.
    await trx
      .insertInto(t.businesses)
      .values({ business_id: businessId, group_name: null, paused: 0, updated_at: now })
      .onConflict((oc) => oc.column('business_id').doNothing())
      .execute();
    let read = trx.selectFrom(t.businesses).select('group_name').where('business_id', '=', businessId);
    if (postgres) read = read.forUpdate();
    const previousGroup = ((await read.executeTakeFirstOrThrow()).group_name as string | null) ?? null;
    await trx
      .updateTable(t.businesses)
      .set({
        concurrency: limits.concurrency,
        dials_per_second: limits.dialsPerSecond,
        group_name: limits.group,
        updated_at: now,
      })
      .where('business_id', '=', businessId)
      .execute();
    if (previousGroup !== limits.group) await raiseFence(trx, t, businessId);
    return { previousGroup };
  });
}

/** Pauses or resumes a business; its limits and group are kept (none for a business without a row). */
export async function setBusinessPaused(
  db: AnyDb,
  t: TableNames,
  businessId: string,
  paused: boolean,
  now: number,
): Promise<void> {
  const flag = paused ? 1 : 0;
  await db
    .insertInto(t.businesses)
    .values({ business_id: businessId, paused: flag, updated_at: now })
    .onConflict((oc) => oc.column('business_id').doUpdateSet({ paused: flag, updated_at: now }))
    .execute();
}

/** A group's record, if its limits were written. */
export async function getGroup(db: AnyDb, t: TableNames, group: string): Promise<GroupRecord | undefined> {
  const row = await db.selectFrom(t.groups).selectAll().where('group_name', '=', group).executeTakeFirst();
  return row ? toGroupRecord(row as GroupRow) : undefined;
}

/**
 * Writes a group's limits (both).
 * @throws ValidationError when a limit or the group's name is not valid
 */
export async function putGroupLimits(
  db: AnyDb,
  t: TableNames,
  group: string,
  limits: GroupLimitsRecord,
  now: number,
): Promise<void> {
  checkLimits(limits);
  checkScopeName('group', group);
  const values = {
    concurrency: limits.concurrency,
    dials_per_second: limits.dialsPerSecond,
    updated_at: now,
  };
  await db
    .insertInto(t.groups)
    .values({ group_name: group, ...values })
    .onConflict((oc) => oc.column('group_name').doUpdateSet(values))
    .execute();
}

/** The ids of a group's businesses, in code-unit order (the same on both dialects, whatever the collation). */
export async function listGroupMembers(db: AnyDb, t: TableNames, group: string): Promise<string[]> {
  const rows = await db
    .selectFrom(t.businesses)
    .select('business_id')
    .where('group_name', '=', group)
    .execute();
  return rows.map((row) => row.business_id as string).sort();
}

/**
 * Changes a run's concurrency and/or weight.
 * @returns the run after the change, or undefined when there is no such run
 * @throws ValidationError when a value given is not a whole number >= 1
 */
export async function setRunLimits(
  db: AnyDb,
  t: TableNames,
  runId: string,
  change: RunLimitsChange,
  now: number,
): Promise<RunRecord | undefined> {
  reject([
    ...(change.concurrency === undefined ? [] : wholeIssue('concurrency', change.concurrency, false)),
    ...(change.priority === undefined ? [] : wholeIssue('priority', change.priority, false)),
  ]);
  const row = await db
    .updateTable(t.runs)
    .set({
      updated_at: now,
      ...(change.concurrency === undefined ? {} : { concurrency: change.concurrency }),
      ...(change.priority === undefined ? {} : { priority: change.priority }),
    })
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirst();
  return row ? toRunRecord(row as RunRow) : undefined;
}
