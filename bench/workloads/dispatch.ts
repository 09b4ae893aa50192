import { HandoffTracker } from '../measure/handoff.js';
import type { LatencyRecorder } from '../measure/latency.js';
import { clientCommandCount, commandDelta } from '../measure/redis-commands.js';
import { ConnectionSampler } from '../measure/redis-stats.js';
import { statementDelta } from '../measure/sql-counter.js';
import type { Peer, PeerEnv, WorkloadSpec } from '../peers/peer.js';

/** Quiet time before each pass. */
const SETTLE_MS = 500;

/** One system's measured pass over one dispatch workload. */
export interface DispatchMeasurement {
  calls: number;
  /** Wall time from the first lead enqueued to the last call's end processed. */
  seconds: number;
  handoff: LatencyRecorder;
  /** Commands the system's clients sent to Redis (round trips, pipelines counted per command). */
  clientCommands: number;
  /** Commands Redis executed, those inside Lua scripts included (INFO commandstats). */
  serverCommands: number;
  /** SQL statements, or null for systems without a database. */
  sqlStatements: number | null;
  /** Time the database driver ran synchronously on the event loop (all of it for SQLite), in ms. */
  sqlSyncMs: number | null;
  /** Most Redis connections the system held at once. */
  connections: number;
  /**
   * Client commands and SQL statements per call in the steady state: counted between the 25th and
   * the 75th percent of calls ended, so that per-run work (startRun, first use of a business, run
   * completion) stays out. Undefined when the pass did not get that far.
   */
  steady?: { redisPerCall: number; sqlPerCall: number | null };
  /** Client commands by name, largest first. */
  commandBreakdown: Array<[string, number]>;
  /** SQL statements by label, largest first. */
  sqlBreakdown: Array<[string, number]>;
  /** Configuration facts from the peer. */
  notes: string[];
  /** Set when the pass did not finish: what went wrong. */
  failure?: string;
}

/**
 * Runs one workload once on one system: a clean Redis, the system prepared (not timed), then the
 * leads enqueued and every call run to its end (timed), then the system's trailing bookkeeping
 * (counted, not timed). Redis commands, SQL statements and connections are counted around it.
 * @param peer - the system
 * @param spec - the workload
 * @param env - the throwaway servers
 * @param timeoutMs - longest the timed part may take before the pass is reported as failed
 * @returns the measurement
 */
export async function measureDispatch(
  peer: Peer,
  spec: WorkloadSpec,
  env: PeerEnv,
  timeoutMs: number,
): Promise<DispatchMeasurement> {
  await env.probe.flush();
  // Let the previous pass's connections close and the servers settle before measuring anew.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const tracker = new HandoffTracker();
  const sampler = new ConnectionSampler(env.probe);
  const baseline = await env.probe.connectedClients();
  sampler.start();
  const prepared = await peer.prepare(spec, env, tracker);
  await sampler.sampleNow();
  const sqlBefore = prepared.sql?.snapshot();
  const sqlTotalBefore = prepared.sql?.total ?? 0;
  const sqlSyncBefore = prepared.sql?.syncMs ?? 0;
  const clientBefore = clientCommandCount();
  const serverBefore = await env.probe.stats();
  const calls = spec.businesses * spec.leadsPerBusiness;
  const marks: Array<{ ended: number; redis: number; sql: number }> = [];
  const quarter = Math.max(1, Math.floor(calls / 4));
  tracker.onEnd = (ended) => {
    if (ended === quarter || ended === calls - quarter) {
      marks.push({ ended, redis: clientCommandCount().total, sql: prepared.sql?.total ?? 0 });
    }
  };
  let failure: string | undefined;
  const started = performance.now();
  let seconds = 0;
  try {
    await withTimeout(prepared.run(), timeoutMs, () => `${tracker.ended} of ${calls} calls ended`);
    seconds = (performance.now() - started) / 1000;
    await withTimeout(prepared.settle(), 30_000, () => 'trailing bookkeeping did not finish');
  } catch (err) {
    seconds = (performance.now() - started) / 1000;
    failure = err instanceof Error ? err.message : String(err);
  }
  const serverAfter = await env.probe.stats();
  const clientAfter = clientCommandCount();
  const sqlAfter = prepared.sql?.snapshot();
  const sqlStatements = prepared.sql ? prepared.sql.total - sqlTotalBefore : null;
  const peak = await sampler.stop();
  await prepared.close().catch((err: unknown) => {
    console.error(`closing ${peer.system} failed: ${String(err)}`);
  });
  return {
    calls: failure ? tracker.ended : calls,
    seconds,
    handoff: tracker.latency,
    clientCommands: clientAfter.total - clientBefore.total,
    serverCommands: serverAfter.commands - serverBefore.commands,
    sqlStatements,
    sqlSyncMs: prepared.sql ? prepared.sql.syncMs - sqlSyncBefore : null,
    connections: Math.max(0, peak - baseline),
    steady: steadyState(marks, prepared.sql !== undefined),
    commandBreakdown: commandDelta(clientBefore, clientAfter),
    sqlBreakdown: sqlBefore && sqlAfter ? statementDelta(sqlBefore, sqlAfter) : [],
    notes: prepared.notes,
    failure,
  };
}

function steadyState(
  marks: Array<{ ended: number; redis: number; sql: number }>,
  hasSql: boolean,
): DispatchMeasurement['steady'] {
  const [from, to] = marks;
  if (!from || !to || to.ended <= from.ended) return undefined;
  const n = to.ended - from.ended;
  return { redisPerCall: (to.redis - from.redis) / n, sqlPerCall: hasSql ? (to.sql - from.sql) / n : null };
}

async function withTimeout<T>(work: Promise<T>, ms: number, progress: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s (${progress()})`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
