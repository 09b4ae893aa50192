/**
 * Child process of the startRun workload: one `startRun` of N leads on a fresh SQLite file, in a
 * process of its own so that its peak RSS is the run's and nothing else's. Reports over IPC.
 *
 *   node --import tsx bench/workloads/start-run-child.ts <leads>
 */
import { MemorySlotLimiter, OutboundQueue, SimulatedDialer } from '../../src/index.js';
import { KyselyStore } from '../../src/kysely.js';
import { sqliteFileDb } from '../env/databases.js';
import { SqlCounter } from '../measure/sql-counter.js';
import { benchLeads } from '../peers/simulated-call.js';

/** What the child reports to the parent. */
export interface StartRunChildResult {
  leads: number;
  seconds: number;
  /** Peak RSS of the whole child process (`process.resourceUsage().maxRSS`). */
  peakRssMb: number;
  /** RSS after the leads array was built, before `startRun`: the host's own share. */
  rssBeforeMb: number;
  sqlStatements: number;
}

async function main(): Promise<void> {
  const leads = Number(process.argv[2]);
  if (!Number.isInteger(leads) || leads < 1) throw new Error(`bad lead count ${process.argv[2]}`);
  const sql = new SqlCounter();
  const bench = sqliteFileDb(sql);
  const queue = new OutboundQueue({
    store: new KyselyStore({ db: bench.db }),
    limiter: new MemorySlotLimiter(),
    dialer: new SimulatedDialer(),
  });
  await queue.migrate();
  // Not started: this measures writing the run, not dispatching it.
  const input = benchLeads(0, leads);
  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
  const before = sql.total;
  const started = performance.now();
  const run = await queue.startRun({ businessId: 'big', concurrency: 5, leads: input });
  const seconds = (performance.now() - started) / 1000;
  if (run.total !== leads) throw new Error(`run has ${run.total} jobs, expected ${leads}`);
  const result: StartRunChildResult = {
    leads,
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    rssBeforeMb,
    sqlStatements: sql.total - before,
  };
  await queue.close();
  await bench.dispose();
  process.send?.(result);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
