/**
 * One worker: dispatches runs from the shared PostgreSQL and Redis. Started by workers.ts, or on
 * its own: `npx tsx examples/multi-process/worker.ts`. Stops cleanly on SIGINT or SIGTERM; its
 * runs are then adopted by the other workers.
 */
import { OutboundQueue, SimulatedDialer } from 'outbound-queue';
import { lineLogger, openBackends } from './backends.js';

const name = `worker ${process.env.WORKER_ID ?? '?'} pid ${process.pid}`;
const logger = lineLogger(name);
const backends = openBackends(name);
const min = Number(process.env.SIM_MIN_MS ?? 1000);
const max = Number(process.env.SIM_MAX_MS ?? 3000);

// SimulatedDialer reports call progress in-process. A real deployment uses TwilioDialer (or its
// own adapter) in every worker, and every process that serves the status-callback route.
const queue = new OutboundQueue({
  store: backends.store,
  limiter: backends.limiter,
  dialer: new SimulatedDialer({ durationMs: [min, max] }),
  logger,
  leaseMs: backends.leaseMs,
});
queue.on('error', (err) => logger.warn({ err: err.message }, 'OUTBOUND_ERROR_EVENT'));
// Tells workers.ts who is busy, so that --kill-one-after kills a worker with calls in progress.
queue.on('job:dialing', () => process.send?.('dialing'));
// The calls as the events tell them, with the time: merged across workers, these lines show how
// many calls a business had at once (scripts/check-examples.ts counts them). `job:ended` is
// emitted before the freed slot is handed on, so the count never runs ahead of the limiter.
queue.on('job:dialing', (e) =>
  logger.info({ business_id: e.businessId, job_id: e.jobId, at: Date.now() }, 'JOB_DIALING'),
);
queue.on('job:ended', (e) =>
  logger.info({ business_id: e.businessId, job_id: e.jobId, at: Date.now() }, 'JOB_ENDED'),
);

await queue.migrate(); // every worker may run it: the migrator takes a lock
await queue.start();
logger.info({ lease_ms: backends.leaseMs }, 'WORKER_READY');
process.send?.('ready');

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'WORKER_CLOSING');
  // Stops feeding, waits for dial() calls in flight, and gives up this worker's runs at once.
  await queue.close();
  await backends.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
