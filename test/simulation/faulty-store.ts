import type { JobStore } from '../../src/store/job-store.js';
import type { ProcessGate } from './process-gate.js';

/** The store's methods that change the database (only these can be applied while their answer is lost). */
const WRITES = new Set<keyof JobStore>([
  'migrate',
  'createRun',
  'claimJob',
  'claimJobAfter',
  'recordDialed',
  'transition',
  'requeueJob',
  'retryJob',
  'touchJob',
  'setRunStatus',
  'cancelQueuedJobs',
  'fenceSlots',
  'leaseRuns',
  'releaseRuns',
]);

/**
 * The error a store call throws while the database is unreachable: what a driver throws when its
 * connection drops.
 */
export function connectionDropped(): Error {
  return Object.assign(new Error('Connection terminated unexpectedly (simulated outage)'), {
    code: 'ECONNRESET',
  });
}

/**
 * Wraps a {@link JobStore} so that every call goes through one simulated process's gate: it takes
 * virtual time, throws like a dropped connection while the database is down (a write may be
 * applied all the same, its answer lost), and hangs once the process crashed.
 * @param inner - the real store (a `KyselyStore` on in-memory SQLite)
 * @param gate - the process's gate to the database
 * @returns a store with the same methods
 */
export function faultyStore(inner: JobStore, gate: ProcessGate): JobStore {
  return new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      const method = name as keyof JobStore;
      return (...args: unknown[]) =>
        gate.run(
          () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
          WRITES.has(method),
        );
    },
  });
}
