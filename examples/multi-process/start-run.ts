/**
 * Starts a run from a process that never calls `queue.start()` (think: your API server), then
 * watches it until every job is terminal. The workers adopt the run at their next tick.
 *
 *   npx tsx examples/multi-process/start-run.ts --leads 30 --concurrency 4 --business 4
 *   npx tsx examples/multi-process/start-run.ts --leads 30 --stop-after 5
 */
import { parseArgs } from 'node:util';
import { DialError, type Dialer, OutboundQueue, TERMINAL_JOB_STATUSES } from 'outbound-queue';
import { lineLogger, openBackends } from './backends.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '3' },
    business: { type: 'string', default: '4' },
    'stop-after': { type: 'string' },
  },
});

const name = `start-run pid ${process.pid}`;
const backends = openBackends(name);

// This process dispatches nothing and handles no call events, so it never dials. If it ever did,
// this dialer makes the mistake loud: a fatal DialError pauses the run and logs an error.
const refuses: Dialer = {
  async dial() {
    throw new DialError('fatal', 'start-run.ts does not place calls: run workers.ts');
  },
};
const queue = new OutboundQueue({
  store: backends.store,
  limiter: backends.limiter,
  dialer: refuses,
  logger: lineLogger(name),
  leaseMs: backends.leaseMs,
});
await queue.migrate();

const total = Number(args.leads);
const run = await queue.startRun({
  businessId: args.business,
  concurrency: Number(args.concurrency),
  from: '+14155550100',
  leads: Array.from({ length: total }, (_, i) => ({
    to: `+1415555${String(1000 + i).padStart(4, '0')}`,
    leadId: `lead-${i + 1}`,
  })),
});
console.log(
  `[${name}] run ${run.runId}: ${total} leads, concurrency ${run.concurrency}; waiting for a worker`,
);

if (args['stop-after']) {
  setTimeout(async () => {
    const stopped = await queue.stop(run.runId);
    console.log(
      `[${name}] stopped: ${stopped.counts.canceled} canceled, ${stopped.active} calls still ending`,
    );
  }, Number(args['stop-after']) * 1000);
}

// waitForRun works in any process; here it re-reads the run every 500 ms.
const progress = setInterval(async () => {
  const now = await queue.getRun(run.runId);
  const done = TERMINAL_JOB_STATUSES.reduce((n, s) => n + now.counts[s], 0);
  console.log(`[${name}] ${now.status}: ${done}/${now.total} done, ${now.active}/${now.concurrency} calling`);
}, 1000);
const summary = await queue.waitForRun(run.runId, { timeoutMs: 30 * 60_000 });
clearInterval(progress);

const counts = Object.entries(summary.counts)
  .filter(([, n]) => n > 0)
  .map(([status, n]) => `${status}=${n}`)
  .join(' ');
console.log(`[${name}] run ${summary.runId} ${summary.status}: ${counts}`);
await queue.close();
await backends.close();
