import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MachineInfo } from './env/machine.js';
import { LatencyRecorder } from './measure/latency.js';
import type { Peer, SystemName, WorkloadSpec } from './peers/peer.js';
import type { DispatchMeasurement } from './workloads/dispatch.js';

/** One row of `bench/results/latest.json` (SPEC §4); null where a figure does not apply. */
export interface ResultRow {
  workload: string;
  system: SystemName;
  callsPerSec: number | null;
  handoffP50Ms: number | null;
  handoffP99Ms: number | null;
  redisCmdsPerCall: number | null;
  sqlPerCall: number | null;
  notes: string;
}

/** One size of the startRun workload. */
export interface StartRunRow {
  leads: number;
  seconds: number;
  peakRssMb: number;
}

/** `bench/results/latest.json`, exactly in the SPEC §4 shape. */
export interface BenchResults {
  machine: MachineInfo;
  rows: ResultRow[];
  startRun: StartRunRow[];
  idleRedisCmdsPerSec: number | null;
  redisEvalCeilingPerSec: number | null;
}

/** A row and the per-kind breakdowns behind it, for the details printed under the table. */
export interface RowDetail {
  row: ResultRow;
  backend: string;
  commands: Array<[string, number]>;
  statements: Array<[string, number]>;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function sumBreakdowns(lists: Array<Array<[string, number]>>, calls: number): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const list of lists) for (const [k, n] of list) sums.set(k, (sums.get(k) ?? 0) + n);
  return [...sums].map(([k, n]): [string, number] => [k, n / calls]).sort((a, b) => b[1] - a[1]);
}

/** `update "oq_jobs" set ...` -> `update oq_jobs`: the verb and the first table named. */
export function statementKind(label: string): string {
  const verb = label.split(' ')[0] ?? '';
  const table = /(?:update|into|from)\s+"?([\w.]+)"?/i.exec(label)?.[1];
  return table ? `${verb} ${table}` : verb;
}

/**
 * Folds the passes of one system over one workload into a row: calls/s is the median pass,
 * latencies are percentiles of all passes' hand-offs pooled, per-call counts are totals / calls.
 * @param spec - the workload
 * @param peer - the system
 * @param passes - its passes (empty when it cannot run the workload)
 * @param unsupported - why it cannot, if so
 * @returns the row with its breakdowns
 */
export function dispatchRow(
  spec: WorkloadSpec,
  peer: Peer,
  passes: DispatchMeasurement[],
  unsupported?: string,
): RowDetail {
  const empty = { commands: [], statements: [], backend: peer.backend };
  const base = { workload: spec.name, system: peer.system };
  const nulls = { callsPerSec: null, handoffP50Ms: null, handoffP99Ms: null, redisCmdsPerCall: null };
  if (unsupported)
    return { ...empty, row: { ...base, ...nulls, sqlPerCall: null, notes: `n/a: ${unsupported}` } };
  const failed = passes.find((p) => p.failure);
  if (failed || passes.length === 0) {
    const why = failed?.failure ?? 'no pass ran';
    return {
      ...empty,
      row: { ...base, ...nulls, sqlPerCall: null, notes: `${peer.backend}; failed: ${why}` },
    };
  }
  const calls = passes.reduce((n, p) => n + p.calls, 0);
  const rates = passes.map((p) => p.calls / p.seconds);
  const handoff = new LatencyRecorder();
  for (const p of passes) handoff.merge(p.handoff);
  const serverCmds = passes.reduce((n, p) => n + p.serverCommands, 0) / calls;
  const wholeRedis = passes.reduce((n, p) => n + p.clientCommands, 0) / calls;
  const steady = passes.every((p) => p.steady) ? passes.map((p) => p.steady!) : undefined;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sql =
    passes[0]?.sqlStatements === null ? null : passes.reduce((n, p) => n + (p.sqlStatements ?? 0), 0);
  const statements = sumBreakdowns(
    passes.map((p) => p.sqlBreakdown),
    calls,
  );
  const kinds = sumBreakdowns(
    [statements.map(([label, n]): [string, number] => [statementKind(label), n])],
    1,
  );
  const notes = [
    peer.backend,
    ...(passes[0]?.notes ?? []),
    passes.length > 1
      ? `median of ${passes.length} passes (${Math.round(Math.min(...rates))}-${Math.round(Math.max(...rates))} calls/s)`
      : '1 pass',
    `${Math.max(...passes.map((p) => p.connections))} Redis connections`,
    `Redis ran ${round(serverCmds, 1)} cmds/call incl. inside Lua`,
    `whole run incl. enqueueing and run completion: ${round(wholeRedis, 2)} Redis cmds/call` +
      (sql === null
        ? ''
        : `, ${round(sql / calls, 2)} SQL/call (${kinds.map(([k, n]) => `${k} ${n.toFixed(2)}`).join(', ')})`),
  ];
  const p50 = handoff.percentile(50);
  const p99 = handoff.percentile(99);
  return {
    backend: peer.backend,
    commands: sumBreakdowns(
      passes.map((p) => p.commandBreakdown),
      calls,
    ),
    statements,
    row: {
      ...base,
      callsPerSec: Math.round(median(rates)),
      handoffP50Ms: p50 === null ? null : round(p50, 3),
      handoffP99Ms: p99 === null ? null : round(p99, 3),
      redisCmdsPerCall: round(steady ? mean(steady.map((s) => s.redisPerCall)) : wholeRedis, 2),
      sqlPerCall:
        sql === null ? null : round(steady ? mean(steady.map((s) => s.sqlPerCall ?? 0)) : sql / calls, 2),
      notes: notes.join('; '),
    },
  };
}

/**
 * Writes the results file (pretty JSON, trailing newline).
 * @param path - where, e.g. `bench/results/latest.json`
 * @param results - the results
 */
export function writeResults(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
