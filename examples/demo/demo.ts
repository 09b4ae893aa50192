/**
 * `npm run demo`: the seed scenario on embedded defaults. One business, 7 leads, concurrency 3,
 * SQLite file + MemorySlotLimiter + SimulatedDialer; prints the OUTBOUND_* lines, a live progress
 * bar and a summary table. Exits 1 unless the run completed within its concurrency.
 * It runs on the build in dist/, made first when it is missing or older than src/.
 *
 *   npm run demo -- --leads 20 --concurrency 5
 *   npm run demo -- --policy    # busy and unanswered leads retried, one lead called back later,
 *                               # one lead waiting up to a minute for its calling window
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
    policy: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(
    'usage: npm run demo -- [--leads N] [--concurrency N] [--business ID] [--policy] [--redis URL] [--db URL|FILE]',
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

// With --policy, every third lead is busy at first and the next is unanswered twice: the run's
// retry rules call them again (see docs/policy.md).
const outcome = ({ metadata, attempt }: { metadata: Record<string, unknown>; attempt: number }) => {
  const n = Number(metadata.n);
  if (n % 3 === 0 && attempt === 1) return 'busy' as const;
  if (n % 3 === 1 && attempt <= 2) return 'no-answer' as const;
  return 'completed' as const;
};
const dialer = new SimulatedDialer({
  durationMs: [Number(args['min-ms']), Number(args['max-ms'])],
  outcome: args.policy ? outcome : undefined,
});
const queue = new OutboundQueue({ store: new KyselyStore({ db }), limiter, dialer, logger: view.logger });
queue.on('job:dialing', (e) => view.dialing(e.jobId));
queue.on('job:ended', (e) => view.ended(e.jobId, e.status, e.final !== false));
queue.on('error', (err) => view.logger.error({ err: err.message }, 'OUTBOUND_ERROR'));

await queue.migrate();
await queue.start();
const started = Date.now();
// With --policy, the run has a calling window that opens at the next whole minute of one zone
// (Etc/GMT+k, k hours behind UTC, chosen so that no date changes): the lead in that zone waits
// for it; the others are in the zone an hour ahead, where the window is open already.
const behindUtc = [0, 23].includes(new Date(started).getUTCHours()) ? 2 : 0;
const closedZone = behindUtc === 0 ? 'Etc/GMT' : `Etc/GMT+${behindUtc}`;
const openZone = behindUtc === 0 ? 'Etc/GMT-1' : `Etc/GMT+${behindUtc - 1}`;
const opensAt = new Date(Math.ceil((started + 1) / 60_000) * 60_000 - behindUtc * 3_600_000);
const window = { hours: [{ start: opensAt.toISOString().slice(11, 16), end: '24:00' }], endMarginMs: 0 };
const windowLead = total - 2;
const leads = Array.from({ length: total }, (_, i) => ({
  to: `+1415555${String(101 + i).padStart(4, '0')}`,
  leadId: `${2502 + i}`,
  metadata: { name: `Lead ${i + 1}`, n: i },
  // With --policy, the last lead asked to be called back in 3 seconds.
  notBefore: args.policy && i === total - 1 ? started + 3_000 : undefined,
  timeZone: args.policy ? (i === windowLead ? closedZone : openZone) : undefined,
}));
const retry = args.policy
  ? {
      busy: { maxAttempts: 3, delayMs: 1_500 },
      no_answer: { maxAttempts: 3, delayMs: 1_000, backoff: 'exponential' as const },
    }
  : undefined;
const run = await queue.startRun({
  businessId: args.business,
  concurrency,
  leads,
  from: '+14155550100',
  retry,
  window: args.policy ? window : undefined,
});
if (args.policy) {
  console.log(`retry rules: ${JSON.stringify(retry)}`);
  console.log(
    `calling window ${window.hours[0]?.start} to 24:00 local: lead ${windowLead + 1} (${closedZone}) waits for it, ` +
      `the others (${openZone}) are inside it`,
  );
  // The feeder holds the lead back on its first pass; the summary then says why it waits.
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log(`waiting: ${JSON.stringify((await queue.getRun(run.runId)).waiting)}`);
}
const summary = await queue.waitForRun(run.runId, { timeoutMs: 10 * 60_000 });
view.finish();

const jobs = await queue.listJobs(run.runId, { limit: Math.min(1000, total) });
// Each job's attempts, oldest first (`getJob` reads them), when the run had retry rules.
const attempts = new Map<string, string>();
if (args.policy) {
  for (const j of jobs) {
    const detail = await queue.getJob(j.jobId);
    attempts.set(j.jobId, (detail.attempts ?? []).map((a) => a.status).join(' > '));
  }
}
console.log('');
console.table(
  jobs.map((j) => ({
    ...(args.policy ? { attempts: attempts.get(j.jobId) } : {}),
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
