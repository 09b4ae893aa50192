import type { CompiledQuery } from 'kysely';
import type { ContactCap } from '../../policy/contact-cap.js';
import type { ClaimedRow } from './kysely-batch-statements.js';
import { holdBack } from './kysely-queued-jobs.js';
import type { AnyDb, TableNames } from './kysely-schema.js';

/**
 * The instants of a number's contacts by a business since `since`, oldest first: each job's
 * current claim while it is not back in line, and each earlier attempt that was placed (an
 * attempt put back before its call, kept as `queued`, is not a contact).
 */
async function contactTimes(
  db: AnyDb,
  t: TableNames,
  businessId: string,
  to: string,
  since: number,
): Promise<number[]> {
  const current = await db
    .selectFrom(t.jobs)
    .select('claimed_at as at')
    .where('business_id', '=', businessId)
    .where('to_number', '=', to)
    .where('status', '!=', 'queued')
    .where('claimed_at', '>', since)
    .execute();
  const earlier = await db
    .selectFrom(`${t.attempts} as a`)
    .innerJoin(`${t.jobs} as j`, 'j.id', 'a.job_id')
    .select('a.started_at as at')
    .where('j.business_id', '=', businessId)
    .where('j.to_number', '=', to)
    .where('a.status', '!=', 'queued')
    .where('a.started_at', '>', since)
    .execute();
  return [...current, ...earlier].map((row) => Number(row.at)).sort((a, b) => a - b);
}

/**
 * Claims a job under a contact cap, in one transaction: the number's contacts by the business
 * are counted over all runs and, below the cap, the claim statement runs; at the cap the job is
 * held back until the oldest contact that counts leaves the period. On PostgreSQL the number's
 * row in the contacts table is locked first, so two claims of one number (two processes, two
 * runs) take turns and cannot both see room for one; SQLite has one writer at a time already.
 * @param claim - the claim statement for this one job
 * @returns the claimed row, or undefined (not claimable, or capped: then held back)
 */
export async function claimUnderCap(
  db: AnyDb,
  t: TableNames,
  postgres: boolean,
  claim: CompiledQuery<ClaimedRow>,
  jobId: string,
  now: number,
  cap: ContactCap,
): Promise<ClaimedRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const job = await trx
      .selectFrom(t.jobs)
      .select(['business_id', 'to_number'])
      .where('id', '=', jobId)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    if (!job) return undefined;
    const number = { business_id: job.business_id as string, to_number: job.to_number as string };
    if (postgres) {
      await trx
        .insertInto(t.contacts)
        .values(number)
        .onConflict((oc) => oc.columns(['business_id', 'to_number']).doNothing())
        .execute();
      await trx
        .selectFrom(t.contacts)
        .select('to_number')
        .where('business_id', '=', number.business_id)
        .where('to_number', '=', number.to_number)
        .forUpdate()
        .execute();
    }
    const times = await contactTimes(trx, t, number.business_id, number.to_number, now - cap.perMs);
    if (times.length >= cap.count) {
      // Callable again once all but count - 1 of these have left the period.
      const until = (times[times.length - cap.count] ?? now) + cap.perMs;
      await holdBack(trx, t, [jobId], until, 'cap', now);
      return undefined;
    }
    return (await trx.executeQuery(claim)).rows[0];
  });
}
