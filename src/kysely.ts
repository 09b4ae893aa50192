/**
 * `outbound-queue/kysely`: the job store on the host's Kysely database.
 * @packageDocumentation
 */

export { migrateStore, storeMigrations } from './store/kysely/kysely-migrations.js';
export type { TableNames } from './store/kysely/kysely-schema.js';
export { tableNames } from './store/kysely/kysely-schema.js';
export type { KyselyStoreOptions } from './store/kysely/kysely-store.js';
export { KyselyStore } from './store/kysely/kysely-store.js';
export type { PreparingDatabase } from './store/kysely/sqlite-statement-cache.js';
export { cacheStatements } from './store/kysely/sqlite-statement-cache.js';
