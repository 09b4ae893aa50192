import { groupScope } from '../../src/limiter/limiter-scope.js';
import type { Logger } from '../../src/logger.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { CallEvent } from '../../src/types.js';
import { sqliteDb } from '../support/sqlite.js';
import { CHECKERS } from './checkers/all.js';
import { Driver } from './driver.js';
import { type FaultFlags, type FaultPlan, planFaults } from './faults.js';
import { SharedLimiterState } from './faulty-limiter.js';
import { planLimits } from './limit-plan.js';
import type { JobRow, Outcome, RunRow, Violation } from './outcome.js';
import { InFlight } from './process-gate.js';
import { Random } from './random.js';
import { type SharedWorld, SimulatedProcess } from './simulated-process.js';
import { SimulatedProvider } from './simulated-provider.js';
import { Trace, type TraceEntry } from './trace.js';
import { VirtualClock } from './virtual-clock.js';
import { planContactCaps, planRetries, planWindows, planWorkload, type Workload } from './workload.js';

/** The fault phase: no fault starts after this many virtual ms. */
const FAULT_END_MS = 30_000;
/** The engines' `silentCallMs` (its minimum): a call with lost events is resolved after it. */
const SILENT_CALL_MS = 60_000;
/**
 * The shortest wait of an unknown dial outcome before its job is given up (the engine's
 * `MIN_WAIT_MS` in unknown-outcome.ts): a job a dead process left dialing without a call id and
 * that only the silent-call sweep finds is resolved after both.
 */
const UNKNOWN_OUTCOME_WAIT_MS = 60_000;
/** How often the simulation looks at the database for progress (virtual ms). */
const POLL_MS = 1_000;
const TERMINAL = ['completed', 'busy', 'no_answer', 'failed', 'canceled'];

/** One schedule to simulate. */
export interface SimulationOptions {
  seed: number;
  flags: FaultFlags;
  /** Print every line of the trace as it happens, and the engines' warnings and errors. */
  verbose?: boolean;
  /** Grant this many slots beyond each limit: a broken limiter, to show the checkers can fail. */
  overGrant?: number;
  /** A limiter that never hears of group limits, or of business and group limits (the checkers must catch it). */
  ignoreLimits?: 'group' | 'all';
}

/** What one schedule did and which guarantees it broke. */
export interface SimulationResult {
  seed: number;
  violations: Violation[];
  /** Digest of the trace: the same seed and flags must give the same. */
  traceHash: string;
  trace: readonly TraceEntry[];
  /** Virtual ms simulated. */
  virtualMs: number;
  /** `dial()` calls made. */
  dials: number;
  jobs: number;
}

/**
 * Runs one seeded schedule: the real engine (one or two `OutboundQueue`s) on a virtual clock, a
 * `KyselyStore` on in-memory SQLite and a fenced memory limiter behind fault injectors, and the
 * simulated provider; then every checker on what the provider logged and the database holds.
 * @param options - seed, fault classes, verbosity
 * @returns the verdict, with the trace to replay it
 */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const { seed, flags } = options;
  const root = new Random(seed);
  const [workloadRng, faultRng, providerRng, processRng, routeRng, jitterRng] = Array.from(
    { length: 6 },
    () => root.fork(),
  ) as [Random, Random, Random, Random, Random, Random];
  const workload = planWorkload(workloadRng, flags, FAULT_END_MS);
  // A seventh stream: the first six draw what they drew before runs had retry rules.
  planRetries(root.fork(), workload.runs);
  // An eighth: calling windows; a ninth: contact caps.
  planWindows(root.fork(), workload.runs);
  planContactCaps(root.fork(), workload);
  // A tenth: business and group limits, and their live changes.
  planLimits(root.fork(), workload);
  const businesses = [
    ...workload.businesses.map((b) => b.businessId),
    ...(workload.groups ?? []).map((g) => groupScope(g)),
  ];
  const faults = planFaults(faultRng, flags, businesses, FAULT_END_MS);
  const inFlight = new InFlight();
  const clock = new VirtualClock(undefined, () => inFlight.busy());
  const t0 = clock.now();
  const trace = new Trace(() => clock.now() - t0, options.verbose);
  const db = sqliteDb();
  const processes: SimulatedProcess[] = [];
  const live = () => processes.filter((p) => p.alive());
  const deliver = async (event: CallEvent) => {
    const to = live();
    if (to.length === 0) return false as const;
    const process = routeRng.pick(to);
    return Promise.race([process.queue.handleCallEvent(event), process.crashed]);
  };
  const provider = new SimulatedProvider({
    clock,
    rng: providerRng,
    trace,
    flags,
    delivery: workload.delivery,
    deliver,
    maxCallMs: workload.maxCallMs,
  });
  const limiter = new SharedLimiterState(clock, options.overGrant, options.ignoreLimits);
  const world: SharedWorld = { clock, t0, db, limiter, provider, inFlight, flags, faults, workload, trace };
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  const realRandom = Math.random;
  // The engine's retry jitter uses Math.random (src/queue/dial-failure.ts, retry-rules.ts):
  // seeded for this run.
  Math.random = () => jitterRng.next();
  try {
    await new KyselyStore({ db }).migrate();
    trace.add({ ev: 'plan', note: describe(workload, faults) });
    for (let i = 0; i < workload.processes; i++) {
      const logger = options.verbose ? engineLogger(i, () => clock.now() - t0) : undefined;
      processes.push(new SimulatedProcess(i, world, processRng.fork(), logger));
    }
    const plan = new Driver(world, processes, trace, routeRng.fork());
    plan.schedule();
    for (const p of processes) void p.queue.start().catch(() => {});
    // A job may rightly wait for its window's next opening (a closed stretch of a minute and a
    // margin, then a whole span it may just have missed) or for its number's cap to pass.
    const policyWaitMs =
      (workload.runs.some((r) => r.window) ? 3 * 60_000 : 0) + (workload.contactCap?.perMs ?? 0);
    const stallBoundMs =
      SILENT_CALL_MS +
      UNKNOWN_OUTCOME_WAIT_MS +
      4 * workload.leaseMs +
      workload.maxCallMs +
      15_000 +
      policyWaitMs;
    let lastProgress = 0;
    let signature = '';
    let gaveUp: Outcome['gaveUp'];
    const liveSamples: Outcome['liveSamples'][number][] = [];
    for (;;) {
      await clock.advance(POLL_MS);
      const now = clock.now() - t0;
      const { unfinished, live } = await poll(db);
      for (const [businessId, n] of live) liveSamples.push({ t: now, businessId, live: n });
      const moved = trace.entries.filter((e) => e.ev === 'dial:start' || e.ev === 'call:end').length;
      const next = `${unfinished}/${moved}/${plan.pending}`;
      if (next !== signature) lastProgress = now;
      signature = next;
      if (now < FAULT_END_MS) continue;
      if (unfinished === 0 && plan.pending === 0 && provider.liveCalls === 0) break;
      if (now - Math.max(lastProgress, FAULT_END_MS) > stallBoundMs) {
        gaveUp = { at: now, lastProgress, unfinished };
        break;
      }
    }
    const outcome: Outcome = {
      workload,
      faults,
      trace: trace.entries,
      jobs: await readJobs(db),
      runs: await readRuns(db),
      started: plan.started,
      stallBoundMs,
      gaveUp,
      unplacedAtStop: plan.unplacedAtStop,
      liveSamples,
    };
    const violations = CHECKERS.flatMap((check) => check(outcome));
    for (const err of unhandled)
      violations.push({ checker: 'unhandled-rejection', message: String((err as Error)?.stack ?? err) });
    return {
      seed,
      violations,
      traceHash: trace.hash(),
      trace: trace.entries,
      virtualMs: clock.now() - t0,
      dials: trace.entries.filter((e) => e.ev === 'dial:start').length,
      jobs: outcome.jobs.length,
    };
  } finally {
    // Every process dies: nothing of theirs runs against the database once it is gone.
    for (const p of processes) if (p.alive()) p.kill();
    await clock.settle();
    await db.destroy();
    Math.random = realRandom;
    process.off('unhandledRejection', onUnhandled);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the store's untyped tables
type Db = import('kysely').Kysely<any>;

/** Reads, bypassing the faults: jobs not terminal, and jobs holding calls per business. */
async function poll(db: Db): Promise<{ unfinished: number; live: Map<string, number> }> {
  const rows = await db
    .selectFrom('oq_jobs')
    .select((eb) => ['business_id', 'status', eb.fn.countAll<number>().as('n')])
    .where('status', 'not in', TERMINAL)
    .groupBy(['business_id', 'status'])
    .execute();
  let unfinished = 0;
  const live = new Map<string, number>();
  for (const row of rows) {
    const n = Number(row.n);
    unfinished += n;
    if (row.status !== 'queued') live.set(row.business_id, (live.get(row.business_id) ?? 0) + n);
  }
  return { unfinished, live };
}

/** The schedule in one line, the first of the trace. */
function describe(workload: Workload, faults: FaultPlan): string {
  const { businesses, runs, leaseMs, maxCallMs, delivery, dialsPerSecond, processes } = workload;
  const limits = businesses.map((b) => `${b.businessId}:${b.concurrency}`).join(',');
  const plan = runs
    .map(
      (r) =>
        `${r.runId}@${r.businessId}x${r.leads.length}c${r.concurrency}p${r.priority ?? 1}` +
        `${r.retry ? ` retry=${JSON.stringify(r.retry)}` : ''}` +
        `${r.window ? ` window=${JSON.stringify(r.window)}` : ''}`,
    )
    .join(',');
  const changes = workload.limitChanges ? ` limits=${JSON.stringify(workload.limitChanges)}` : '';
  return `businesses=${limits} runs=${plan}${changes} leaseMs=${leaseMs} maxCallMs=${maxCallMs} delivery=${delivery} dps=${dialsPerSecond ?? '-'} processes=${processes} faults=${JSON.stringify(faults)}`;
}

/** Prints an engine's warnings and errors beside the trace (verbose replays only; info lines too with `OQ_SIM_INFO=1`). */
function engineLogger(process: number, now: () => number): Logger {
  const print = (level: string) => (fields: object, msg?: string) => {
    const { err, ...rest } = fields as { err?: unknown };
    const why = err instanceof Error ? ` err=${err.message}` : '';
    console.log(
      `      ${(now() / 1000).toFixed(3).padStart(9)}s   p${process} ${level} ${msg} ${JSON.stringify(rest)}${why}`,
    );
  };
  return {
    debug: () => {},
    info: globalThis.process.env.OQ_SIM_INFO ? print('info') : () => {},
    warn: print('warn'),
    error: print('error'),
  };
}

async function readJobs(db: Db): Promise<JobRow[]> {
  const rows = await db.selectFrom('oq_jobs').selectAll().orderBy('run_id').orderBy('seq').execute();
  return rows.map((r) => ({
    jobId: r.id,
    runId: r.run_id,
    businessId: r.business_id,
    leadId: r.lead_id ?? undefined,
    to: r.to_number,
    status: r.status,
    attempt: Number(r.attempt),
    callId: r.call_id ?? undefined,
    errorCode: r.error_code ?? undefined,
  }));
}

async function readRuns(db: Db): Promise<RunRow[]> {
  const rows = await db.selectFrom('oq_runs').select(['id', 'status']).orderBy('id').execute();
  return rows.map((r) => ({ runId: r.id, status: r.status }));
}
