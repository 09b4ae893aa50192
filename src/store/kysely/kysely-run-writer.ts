import type { Kysely } from 'kysely';
import type { NewJob, NewRun } from '../job-store.js';
import type { TableNames } from './kysely-schema.js';

/**
 * Writes a run and its jobs in one transaction: all of them or nothing. Jobs are inserted
 * `batchSize` rows per statement as they come from the iterable, so a large run is never held in
 * memory as rows.
 * @param db - the host's database
 * @param t - the store's table names
 * @returns false when a run with that id existed (nothing was written)
 */
export async function writeRun(
  // biome-ignore lint/suspicious/noExplicitAny: the store's tables are not in the host's schema type
  db: Kysely<any>,
  t: TableNames,
  run: NewRun,
  jobs: Iterable<NewJob>,
  batchSize: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto(t.runs)
      .values({
        id: run.runId,
        business_id: run.businessId,
        status: run.status ?? 'running',
        concurrency: run.concurrency,
        total: run.total,
        from_number: run.from ?? null,
        owner_id: run.ownerId ?? null,
        owner_expires_at: run.ownerExpiresAt ?? null,
        created_at: run.createdAt,
        updated_at: run.createdAt,
        input_digest: run.inputDigest ?? null,
        retry_policy: run.retry === undefined ? null : JSON.stringify(run.retry),
        calling_window: run.window === undefined ? null : JSON.stringify(run.window),
        priority: run.priority ?? 1,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    let batch: Record<string, unknown>[] = [];
    for (const job of jobs) {
      batch.push({
        id: job.jobId,
        run_id: run.runId,
        business_id: run.businessId,
        seq: job.seq,
        lead_id: job.leadId ?? null,
        to_number: job.to,
        from_number: job.from ?? null,
        status: 'queued',
        attempt: 0,
        metadata: JSON.stringify(job.metadata),
        not_before: job.notBefore ?? null,
        time_zone: job.timeZone ?? null,
        created_at: run.createdAt,
        updated_at: run.createdAt,
      });
      if (batch.length >= batchSize) {
        await trx.insertInto(t.jobs).values(batch).execute();
        batch = [];
      }
    }
    if (batch.length > 0) await trx.insertInto(t.jobs).values(batch).execute();
    return true;
  });
}
