import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** A worker thread that checkpoints a SQLite file's WAL; stop it before closing the database. */
export interface BackgroundCheckpointer {
  /** Stops the worker (after its current checkpoint) and closes its connection. */
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.filename);
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Moves a WAL database's checkpoints off the event loop, as docs/operations.md advises on disks
 * with a slow `fsync`: automatic checkpoints are turned off on `database`, and a worker thread
 * with its own connection runs a PASSIVE checkpoint (which never waits for the writer) every
 * `intervalMs`. The `fsync` of each checkpoint then happens in the worker.
 * @param database - the host's better-sqlite3 database, in WAL mode, on a file
 * @param intervalMs - time between checkpoints
 * @returns a handle to stop the worker
 */
export function checkpointInBackground(
  database: Database.Database,
  intervalMs = 250,
): BackgroundCheckpointer {
  database.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      filename: database.name,
      intervalMs,
      module: createRequire(import.meta.url).resolve('better-sqlite3'),
    },
  });
  worker.unref();
  return {
    async stop() {
      // Referenced again: an unreferenced worker would let the process end before it exits.
      worker.ref();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      await exited;
    },
  };
}
