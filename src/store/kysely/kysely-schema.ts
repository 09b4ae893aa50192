import type { Kysely } from 'kysely';
/** Names of the store's tables for a given prefix. */
export interface TableNames {
  /** The runs table (`<prefix>runs`). */
  runs: string;
  /** The jobs table, one row per lead (`<prefix>jobs`). */
  jobs: string;
  /** One fencing token per business, raised whenever its limiter state is rebuilt (`<prefix>limiter_fences`). */
  fences: string;
  /** Attempts of jobs that were retried, the current one excepted (`<prefix>attempts`). */
  attempts: string;
  /** One row per number a business called under a contact cap: its lock serializes their claims (`<prefix>contacts`). */
  contacts: string;
  /** One row per business whose limits, group or pause were set (`<prefix>businesses`). */
  businesses: string;
  /** One row per account group whose limits were set (`<prefix>groups`). */
  groups: string;
  /** Kysely's migration history table (`<prefix>migrations`). */
  migrations: string;
  /** Kysely's migration lock table (`<prefix>migrations_lock`). */
  migrationLock: string;
}

/**
 * Table names with the host's prefix.
 * @param prefix - prepended to every table name (default `oq_`)
 * @returns the names of the store's tables and of its migration tables
 */
export function tableNames(prefix: string): TableNames {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(prefix)) {
    throw new TypeError(
      `tablePrefix must be letters, digits and underscores (got ${JSON.stringify(prefix)})`,
    );
  }
  return {
    runs: `${prefix}runs`,
    jobs: `${prefix}jobs`,
    fences: `${prefix}limiter_fences`,
    attempts: `${prefix}attempts`,
    contacts: `${prefix}contacts`,
    businesses: `${prefix}businesses`,
    groups: `${prefix}groups`,
    migrations: `${prefix}migrations`,
    migrationLock: `${prefix}migrations_lock`,
  };
}

/** A row of the runs table as the driver returns it (bigint columns may be strings on PostgreSQL). */
export interface RunRow {
  id: string;
  business_id: string;
  status: string;
  concurrency: number;
  total: number;
  from_number: string | null;
  owner_id: string | null;
  owner_expires_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
  finished_at: number | string | null;
  input_digest: string | null;
  /** The run's retry rules as JSON, or null when it retries nothing. */
  retry_policy: string | null;
  /** The run's calling window as JSON, or null when it may call at any time. */
  calling_window: string | null;
  /** The run's weight among its business's runs (1 for runs written before it was kept). */
  priority: number;
}

/** A row of the businesses table: a business's limits, group and pause. */
export interface BusinessRow {
  business_id: string;
  concurrency: number | null;
  /** Dial starts per second; a float column. */
  dials_per_second: number | null;
  group_name: string | null;
  /** 1 while the business is paused, else 0. */
  paused: number;
  updated_at: number | string;
}

/** A row of the groups table: an account group's limits. */
export interface GroupRow {
  group_name: string;
  concurrency: number | null;
  /** Dial starts per second; a float column. */
  dials_per_second: number | null;
  updated_at: number | string;
}

/** A row of the attempts table: an attempt of a job that was retried. */
export interface AttemptRow {
  job_id: string;
  attempt: number;
  status: string;
  call_id: string | null;
  error_code: string | null;
  error_message: string | null;
  answered_by: string | null;
  duration_sec: number | null;
  started_at: number | string;
  ended_at: number | string;
}

/** A row of the jobs table as the driver returns it. */
export interface JobRow {
  id: string;
  run_id: string;
  business_id: string;
  seq: number;
  lead_id: string | null;
  to_number: string;
  from_number: string | null;
  status: string;
  attempt: number;
  lock_token: string | null;
  call_id: string | null;
  error_code: string | null;
  error_message: string | null;
  duration_sec: number | null;
  answered_by: string | null;
  metadata: string;
  not_before: number | string | null;
  created_at: number | string;
  updated_at: number | string;
  claimed_at: number | string | null;
  dialed_at: number | string | null;
  ended_at: number | string | null;
  /** The job's zones for its run's window, joined with `&`. */
  time_zone: string | null;
  /** Why a queued job waits past `not_before`, when not a retry or schedule: `window`. */
  waits_for: string | null;
}

/** The host's database, its schema unknown to the store (the store's tables are not in it). */
// biome-ignore lint/suspicious/noExplicitAny: the store's tables are not in the host's schema type
export type AnyDb = Kysely<any>;
