import type { CallingWindow } from '../../policy/calling-window.js';
import {
  type Job,
  type JobAttempt,
  type JobMetadata,
  type JobStatus,
  LIVE_JOB_STATUSES,
  type RunRetryPolicy,
  type RunStatus,
} from '../../types.js';
import type { BusinessRecord, ClaimedJob, GroupRecord, JobRoute, RunRecord } from '../job-store.js';
import type { ClaimedRow } from './kysely-batch-statements.js';
import type { AttemptRow, BusinessRow, GroupRow, JobRow, RunRow } from './kysely-schema.js';

/** Reads a bigint column that PostgreSQL returns as a string. */
export function toNumber(value: number | string | bigint): number {
  return typeof value === 'number' ? value : Number(value);
}

function optionalNumber(value: number | string | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : toNumber(value);
}

function optionalDate(value: number | string | null | undefined): Date | undefined {
  const ms = optionalNumber(value);
  return ms === undefined ? undefined : new Date(ms);
}

function optional<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

/** Maps a runs row to a {@link RunRecord}. */
export function toRunRecord(row: RunRow): RunRecord {
  return {
    runId: row.id,
    businessId: row.business_id,
    status: row.status as RunStatus,
    concurrency: toNumber(row.concurrency),
    total: toNumber(row.total),
    from: optional(row.from_number),
    ownerId: optional(row.owner_id),
    ownerExpiresAt: optionalNumber(row.owner_expires_at),
    createdAt: toNumber(row.created_at),
    finishedAt: optionalNumber(row.finished_at),
    inputDigest: optional(row.input_digest ?? null),
    retry: row.retry_policy ? (JSON.parse(row.retry_policy) as RunRetryPolicy) : undefined,
    window: row.calling_window ? (JSON.parse(row.calling_window) as CallingWindow) : undefined,
    priority: toNumber(row.priority ?? 1),
  };
}

function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : toNumber(value);
}

/** Maps a businesses row to a {@link BusinessRecord}. */
export function toBusinessRecord(row: BusinessRow): BusinessRecord {
  return {
    businessId: row.business_id,
    concurrency: nullableNumber(row.concurrency),
    dialsPerSecond: nullableNumber(row.dials_per_second),
    group: row.group_name,
    paused: toNumber(row.paused) !== 0,
    updatedAt: toNumber(row.updated_at),
  };
}

/** Maps a groups row to a {@link GroupRecord}. */
export function toGroupRecord(row: GroupRow): GroupRecord {
  return {
    group: row.group_name,
    concurrency: nullableNumber(row.concurrency),
    dialsPerSecond: nullableNumber(row.dials_per_second),
    updatedAt: toNumber(row.updated_at),
  };
}

/** Maps a jobs row to the public {@link Job}. */
export function toJob(row: JobRow): Job {
  return {
    jobId: row.id,
    runId: row.run_id,
    businessId: row.business_id,
    leadId: optional(row.lead_id),
    to: row.to_number,
    from: optional(row.from_number),
    status: row.status as JobStatus,
    attempt: toNumber(row.attempt),
    callId: optional(row.call_id),
    errorCode: optional(row.error_code),
    errorMessage: optional(row.error_message),
    durationSec: optionalNumber(row.duration_sec),
    answeredBy: optional(row.answered_by),
    metadata: JSON.parse(row.metadata) as JobMetadata,
    timeZone: optional(row.time_zone ?? null),
    createdAt: new Date(toNumber(row.created_at)),
    dialedAt: optionalDate(row.dialed_at),
    endedAt: optionalDate(row.ended_at),
  };
}

/** Maps an attempts row to a {@link JobAttempt}. */
export function toJobAttempt(row: AttemptRow): JobAttempt {
  return {
    attempt: toNumber(row.attempt),
    status: row.status as JobStatus,
    callId: optional(row.call_id),
    errorCode: optional(row.error_code),
    errorMessage: optional(row.error_message),
    answeredBy: optional(row.answered_by),
    durationSec: optionalNumber(row.duration_sec),
    startedAt: new Date(toNumber(row.started_at)),
    endedAt: new Date(toNumber(row.ended_at)),
  };
}

/**
 * The attempt a jobs row holds now (its latest), or undefined before its first claim.
 * @param row - the job's row
 */
export function currentAttempt(row: JobRow): JobAttempt | undefined {
  const startedAt = optionalNumber(row.claimed_at);
  if (toNumber(row.attempt) === 0 || startedAt === undefined) return undefined;
  const status = row.status as JobStatus;
  // A live attempt has no error yet: the row's is the one before it (a claim leaves it).
  const live = LIVE_JOB_STATUSES.includes(status);
  return {
    attempt: toNumber(row.attempt),
    status,
    callId: optional(row.call_id),
    errorCode: live ? undefined : optional(row.error_code),
    errorMessage: live ? undefined : optional(row.error_message),
    answeredBy: optional(row.answered_by),
    durationSec: optionalNumber(row.duration_sec),
    startedAt: new Date(startedAt),
    endedAt: optionalDate(row.ended_at),
  };
}

/** The columns {@link toJobRoute} reads. */
export const JOB_ROUTE_COLUMNS = [
  'id',
  'run_id',
  'business_id',
  'status',
  'lock_token',
  'call_id',
  'updated_at',
  'attempt',
] as const;

/** Maps the routing columns of a jobs row to a {@link JobRoute}. */
export function toJobRoute(row: Pick<JobRow, (typeof JOB_ROUTE_COLUMNS)[number]>): JobRoute {
  return {
    jobId: row.id,
    runId: row.run_id,
    businessId: row.business_id,
    status: row.status as JobStatus,
    lockToken: optional(row.lock_token),
    callId: optional(row.call_id),
    updatedAt: toNumber(row.updated_at),
    attempt: toNumber(row.attempt),
  };
}

/**
 * The claim a claim statement's row stands for.
 * @param row - the claimed row, or undefined when the claim lost
 * @param lockToken - the token the claim wrote
 */
export function toClaimedJob(row: ClaimedRow | undefined, lockToken: string): ClaimedJob | undefined {
  if (!row) return undefined;
  return {
    jobId: row.id,
    runId: row.run_id,
    businessId: row.business_id,
    to: row.to_number,
    from: row.from_number ?? undefined,
    attempt: toNumber(row.attempt),
    lockToken,
    metadata: JSON.parse(row.metadata),
    timeZone: row.time_zone ?? undefined,
  };
}
