/**
 * `npm run demo`: the seed scenario on embedded defaults. One business, 7 leads, concurrency 3,
 * SQLite file + MemorySlotLimiter + SimulatedDialer; prints the OUTBOUND_* lines, a live progress
 * bar and a summary table. Exits 1 unless the run completed within its concurrency.
 * It runs on the build in dist/, made first when it is missing or older than src/.
 *
 *   npm run demo -- --leads 20 --concurrency 5
 *   npm run demo -- --redis redis://127.0.0.1:6379 --db postgres://user@127.0.0.1/db
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MemorySlotLimiter, OutboundQueue, SimulatedDialer, type SlotLimiter } from 'outbound-queue';
import { KyselyStore } from 'outbound-queue/kysely';
import { openDatabase } from './demo-database.js';
import { ProgressView } from './progress-view.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '7' },
    concurrency: { type: 'string', default: '3' },
    business: { type: 'string', default: '4' },
    redis: { type: 'string' },
    db: { type: 'string' },
    'min-ms': { type: 'string', default: '400' },
    'max-ms': { type: 'string', default: '1200' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(
    'usage: npm run demo -- [--leads N] [--concurrency N] [--business ID] [--redis URL] [--db URL|FILE]',
  );
  process.exit(0);
}

const total = Number(args.leads);
const concurrency = Number(args.concurrency);
const view = new ProgressView(total, concurrency, Boolean(process.stdout.isTTY));

mkdirSync('.demo', { recursive: true });
const db = await openDatabase(args.db ?? '.demo/demo.sqlite');
let limiter: SlotLimiter = new MemorySlotLimiter();
let closeRedis = async () => {};
if (args.redis) {
  const { Redis } = await import('ioredis');
  const { RedisSlotLimiter } = await import('outbound-queue/redis');
  const redis = new Redis(args.redis);
  limiter = new RedisSlotLimiter({ redis, prefix: 'oq-demo' });
  closeRedis = async () => void (await redis.quit());
}

const dialer = new SimulatedDialer({ durationMs: [Number(args['min-ms']), Number(args['max-ms'])] });
const queue = new OutboundQueue({ store: new KyselyStore({ db }), limiter, dialer, logger: view.logger });
queue.on('job:dialing', (e) => view.dialing(e.jobId));
queue.on('job:ended', (e) => view.ended(e.jobId, e.status, e.final !== false));
queue.on('error', (err) => view.logger.error({ err: err.message }, 'OUTBOUND_ERROR'));

await queue.migrate();
await queue.start();
const leads = Array.from({ length: total }, (_, i) => ({
  to: `+1415555${String(101 + i).padStart(4, '0')}`,
  leadId: `${2502 + i}`,
  metadata: { name: `Lead ${i + 1}` },
}));
const started = Date.now();
const run = await queue.startRun({ businessId: args.business, concurrency, leads, from: '+14155550100' });
const summary = await queue.waitForRun(run.runId, { timeoutMs: 10 * 60_000 });
view.finish();

const jobs = await queue.listJobs(run.runId, { limit: Math.min(1000, total) });
console.log('');
console.table(
  jobs.map((j) => ({
    job: j.jobId,
    lead: j.leadId,
    to: j.to,
    status: j.status,
    call: j.callId,
    seconds: j.dialedAt && j.endedAt ? ((j.endedAt.getTime() - j.dialedAt.getTime()) / 1000).toFixed(1) : '',
  })),
);
const counts = Object.entries(summary.counts)
  .filter(([, n]) => n > 0)
  .map(([s, n]) => `${s}=${n}`)
  .join(' ');
console.log(
  `run ${summary.runId} ${summary.status}: ${counts}; most calls at once: ${view.maxActive}/${concurrency}; ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s`,
);
await queue.close();
await closeRedis();
await db.destroy();
if (summary.status !== 'completed' || view.maxActive > concurrency) process.exitCode = 1;
