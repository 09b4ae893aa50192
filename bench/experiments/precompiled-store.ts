import { CompiledQuery, type Kysely } from 'kysely';
import { KyselyStore } from '../../src/kysely.js';
import type { ClaimedJob, JobTransition, TransitionResult } from '../../src/store/job-store.js';
import { isTerminal, statusesBefore } from '../../src/store/job-transitions.js';
import { toJobRoute } from '../../src/store/kysely/kysely-row-mappers.js';
import type { JobRow } from '../../src/store/kysely/kysely-schema.js';

const CLAIM = `update "oq_jobs" set "status" = 'dialing', "lock_token" = ?, "attempt" = attempt + 1, "claimed_at" = ?, "updated_at" = ?, "not_before" = null where "id" = ? and "status" = 'queued' and exists (select 1 as "one" from "oq_runs" where "oq_runs"."id" = "oq_jobs"."run_id" and "oq_runs"."status" = 'running') returning "id", "run_id", "business_id", "to_number", "from_number", "attempt", "metadata"`;
const DIALED = `update "oq_jobs" set "call_id" = ?, "dialed_at" = ? where "id" = ? and "lock_token" = ?`;
const END = `update "oq_jobs" set "status" = ?, "updated_at" = ?, "call_id" = coalesce(call_id, ?), "ended_at" = ?, "error_code" = ?, "error_message" = ?, "duration_sec" = ? where "id" = ? and "status" in ('dialing', 'ringing', 'in_progress') and ("lock_token" = ? or "call_id" = ?) returning "id", "run_id", "business_id", "status", "lock_token", "call_id", "updated_at"`;

/**
 * Experiment for recommendation R1 (docs/performance.md): `KyselyStore` whose three per-call
 * statements (claim, call id recorded, terminal event) are SQL text built once and run with
 * positional parameters, instead of being built with Kysely's query builder on every call.
 * SQLite and the default `oq_` prefix only; every other path is the real store's.
 */
export class PrecompiledStore extends KyselyStore {
  /**
   * @param kdb - the SQLite database
   */
  // biome-ignore lint/suspicious/noExplicitAny: the store's tables are not in a host schema type
  constructor(private readonly kdb: Kysely<any>) {
    super({ db: kdb });
  }

  override async claimJob(jobId: string, lockToken: string, now: number): Promise<ClaimedJob | undefined> {
    const { rows } = await this.kdb.executeQuery<JobRow>(
      CompiledQuery.raw(CLAIM, [lockToken, now, now, jobId]),
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      jobId: row.id,
      runId: row.run_id,
      businessId: row.business_id,
      to: row.to_number,
      from: row.from_number ?? undefined,
      attempt: Number(row.attempt),
      lockToken,
      metadata: JSON.parse(row.metadata),
    };
  }

  override async recordDialed(
    jobId: string,
    lockToken: string,
    callId: string,
    now: number,
  ): Promise<boolean> {
    const result = await this.kdb.executeQuery(CompiledQuery.raw(DIALED, [callId, now, jobId, lockToken]));
    return Number(result.numAffectedRows) === 1;
  }

  override async transition(change: JobTransition, now: number): Promise<TransitionResult> {
    const simple =
      isTerminal(change.status) &&
      statusesBefore(change.status).length === 3 &&
      change.lockToken !== undefined &&
      change.callId !== undefined;
    if (!simple) return super.transition(change, now);
    const params = [
      change.status,
      now,
      change.callId ?? null,
      now,
      change.errorCode ?? null,
      change.errorMessage ?? null,
      change.durationSec ?? null,
      change.jobId,
      change.lockToken ?? null,
      change.callId ?? null,
    ];
    const { rows } = await this.kdb.executeQuery<JobRow>(CompiledQuery.raw(END, params));
    return rows[0] ? toJobRoute(rows[0]) : undefined;
  }
}
