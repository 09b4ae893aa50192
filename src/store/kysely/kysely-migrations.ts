import { type Kysely, type Migration, Migrator } from 'kysely';
import type { TableNames } from './kysely-schema.js';

/**
 * The store's migrations, versioned by name. A migration is never edited once released; changes
 * come as new entries.
 * @param t - the table names for the host's prefix
 * @returns migrations keyed by version name
 */
export function storeMigrations(t: TableNames): Record<string, Migration> {
  return {
    '0001_runs_and_jobs': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable(t.runs)
          .ifNotExists()
          .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
          .addColumn('business_id', 'varchar(255)', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('concurrency', 'integer', (c) => c.notNull())
          .addColumn('total', 'integer', (c) => c.notNull())
          .addColumn('from_number', 'varchar(32)')
          .addColumn('owner_id', 'varchar(64)')
          .addColumn('owner_expires_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .execute();
        await db.schema
          .createIndex(`${t.runs}_status_owner`)
          .ifNotExists()
          .on(t.runs)
          .columns(['status', 'owner_expires_at'])
          .execute();
        await db.schema
          .createTable(t.jobs)
          .ifNotExists()
          .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('run_id', 'varchar(255)', (c) => c.notNull())
          .addColumn('business_id', 'varchar(255)', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('lead_id', 'varchar(255)')
          .addColumn('to_number', 'varchar(32)', (c) => c.notNull())
          .addColumn('from_number', 'varchar(32)')
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('lock_token', 'varchar(64)')
          .addColumn('call_id', 'varchar(128)')
          .addColumn('error_code', 'varchar(64)')
          .addColumn('error_message', 'text')
          .addColumn('duration_sec', 'integer')
          .addColumn('metadata', 'text', (c) => c.notNull())
          .addColumn('not_before', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('claimed_at', 'bigint')
          .addColumn('dialed_at', 'bigint')
          .addColumn('ended_at', 'bigint')
          .execute();
        await db.schema
          .createIndex(`${t.jobs}_run_status_seq`)
          .ifNotExists()
          .on(t.jobs)
          .columns(['run_id', 'status', 'seq'])
          .execute();
        await db.schema
          .createIndex(`${t.jobs}_business_status`)
          .ifNotExists()
          .on(t.jobs)
          .columns(['business_id', 'status'])
          .execute();
        await db.schema
          .createIndex(`${t.jobs}_status_updated`)
          .ifNotExists()
          .on(t.jobs)
          .columns(['status', 'updated_at'])
          .execute();
        await db.schema.createIndex(`${t.jobs}_call_id`).ifNotExists().on(t.jobs).column('call_id').execute();
      },
    },
    '0002_answered_by': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable(t.jobs).addColumn('answered_by', 'varchar(64)').execute();
      },
    },
    '0003_limiter_fences': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable(t.fences)
          .ifNotExists()
          .addColumn('business_id', 'varchar(255)', (c) => c.primaryKey())
          .addColumn('fence', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0004_no_call_id_index': {
      // Nothing looks a job up by call id alone (events carry the job id), and every call-id
      // write paid for the index.
      async up(db: Kysely<unknown>) {
        await db.schema.dropIndex(`${t.jobs}_call_id`).ifExists().execute();
      },
    },
    '0005_run_digest_and_listing': {
      // The digest tells a replay of startRun from a conflicting reuse of its runId; the indexes
      // page runs newest first, over all businesses or one.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable(t.runs).addColumn('input_digest', 'varchar(80)').execute();
        await db.schema
          .createIndex(`${t.runs}_created`)
          .ifNotExists()
          .on(t.runs)
          .columns(['created_at', 'id'])
          .execute();
        await db.schema
          .createIndex(`${t.runs}_business_created`)
          .ifNotExists()
          .on(t.runs)
          .columns(['business_id', 'created_at', 'id'])
          .execute();
      },
    },
    '0006_retry_policy_and_attempts': {
      // A run's retry rules (JSON), and the attempts of each job that were retried: the job's row
      // holds its current attempt, this table the ones before it.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable(t.runs).addColumn('retry_policy', 'text').execute();
        await db.schema
          .createTable(t.attempts)
          .ifNotExists()
          .addColumn('job_id', 'varchar(64)', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('call_id', 'varchar(128)')
          .addColumn('error_code', 'varchar(64)')
          .addColumn('error_message', 'text')
          .addColumn('answered_by', 'varchar(32)')
          .addColumn('duration_sec', 'integer')
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('ended_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${t.attempts}_pk`, ['job_id', 'attempt'])
          .execute();
      },
    },
    '0007_calling_windows': {
      // A run's calling window (JSON); each job's zones for it, and why a queued job waits
      // (`window`, or null: a retry or a schedule, told apart by its attempt count).
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable(t.runs).addColumn('calling_window', 'text').execute();
        await db.schema.alterTable(t.jobs).addColumn('time_zone', 'varchar(200)').execute();
        await db.schema.alterTable(t.jobs).addColumn('waits_for', 'varchar(16)').execute();
      },
    },
    '0008_contact_caps': {
      // A capped claim counts a number's contacts by its business (the index), under the lock of
      // that number's row in the contacts table (PostgreSQL: two claims of one number take turns).
      async up(db: Kysely<unknown>) {
        await db.schema
          .createIndex(`${t.jobs}_business_number`)
          .ifNotExists()
          .on(t.jobs)
          .columns(['business_id', 'to_number'])
          .execute();
        await db.schema
          .createTable(t.contacts)
          .ifNotExists()
          .addColumn('business_id', 'varchar(255)', (c) => c.notNull())
          .addColumn('to_number', 'varchar(32)', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${t.contacts}_pk`, ['business_id', 'to_number'])
          .execute();
      },
    },
    '0009_business_limits': {
      // Limits per business and per account group, a business's group (the index lists a group's
      // members) and pause, and each run's weight among its business's runs. A business or group
      // without a row has no limit of its own. `double precision` is a float on both dialects
      // (PostgreSQL's `real` would round 0.1 to single precision).
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable(t.businesses)
          .ifNotExists()
          .addColumn('business_id', 'varchar(255)', (c) => c.primaryKey())
          .addColumn('concurrency', 'integer')
          .addColumn('dials_per_second', 'double precision')
          .addColumn('group_name', 'varchar(255)')
          .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex(`${t.businesses}_group`)
          .ifNotExists()
          .on(t.businesses)
          .column('group_name')
          .execute();
        // A scope's new fence exceeds every fence in the table (see raiseScopeFence): read by index.
        await db.schema.createIndex(`${t.fences}_fence`).ifNotExists().on(t.fences).column('fence').execute();
        await db.schema
          .createTable(t.groups)
          .ifNotExists()
          .addColumn('group_name', 'varchar(255)', (c) => c.primaryKey())
          .addColumn('concurrency', 'integer')
          .addColumn('dials_per_second', 'double precision')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .alterTable(t.runs)
          .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(1))
          .execute();
      },
    },
  };
}

/**
 * Applies the store's pending migrations. Kysely's migrator takes a lock (an advisory lock on
 * PostgreSQL), so several processes may call this at once.
 * @param db - the host's Kysely instance
 * @param t - the table names for the host's prefix
 * @throws the migration's error when one fails (that migration is rolled back)
 */
export async function migrateStore(db: Kysely<unknown>, t: TableNames): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => storeMigrations(t) },
    migrationTableName: t.migrations,
    migrationLockTableName: t.migrationLock,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}
